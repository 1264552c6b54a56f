from django.apps import AppConfig
from django.db.models.signals import post_save


class NotificationsConfig(AppConfig):
    name = "storefront.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from storefront.catalog.models import ProductVariant
        from storefront.notifications.services import variant_saved

        post_save.connect(
            variant_saved, sender=ProductVariant, dispatch_uid="notifications.variant_saved"
        )
