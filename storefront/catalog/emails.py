"""The emails of the catalog's stock: the low-stock alert to staff.

The builder makes its email from the database as it is when the worker sends it
(settings.NOTIFICATION_EMAIL_BUILDERS names it; storefront/notifications/emails.py renders
and sends); the templates are in catalog/templates/catalog/email/.
"""

from storefront.notifications.emails import EmailContent, staff_recipients
from storefront.notifications.models import LowStockAlert

TEMPLATES = "catalog/email"


def build_low_stock_alert(payload: dict) -> EmailContent | None:
    """The alert that a variant ran low (LowStockAlert payload["alert_id"]) to staff: its
    SKU and product, the units in stock when the alert was raised and now, the threshold.

    None when the alert was deleted (with its variant). Staff are
    notifications.emails.staff_recipients(); with none, nothing is sent.
    """
    alert = (
        LowStockAlert.objects.select_related("variant__product")
        .filter(pk=payload["alert_id"])
        .first()
    )
    if alert is None:
        return None
    context = {"alert": alert, "variant": alert.variant, "product": alert.variant.product}
    return EmailContent(f"{TEMPLATES}/low_stock", context, staff_recipients())
