from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "storefront.catalog"
    label = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from storefront.catalog import cache

        cache.connect_signals()
