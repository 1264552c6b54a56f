from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "storefront.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from storefront.payments import checks  # noqa: F401  (registers the system checks)
