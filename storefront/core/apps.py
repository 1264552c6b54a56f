from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "storefront.core"
    label = "core"

    def ready(self) -> None:
        # Registers the system checks.
        from storefront.core import checks  # noqa: F401
