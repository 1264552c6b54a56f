"""The emails of the catalog's stock: the low-stock alert to staff, the back-in-stock alert
to the customers and guests who asked for it.

Each builder makes its email from the database as it is when the worker sends it
(settings.NOTIFICATION_EMAIL_BUILDERS names it; storefront/notifications/emails.py renders
and sends); the templates are in catalog/templates/catalog/email/. Both are queued by
catalog/stock.py, in the transaction that moved the stock.
"""

from storefront.notifications.emails import EmailContent, staff_recipients
from storefront.notifications.models import BackInStockSubscription, LowStockAlert

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


def build_back_in_stock(payload: dict) -> EmailContent | None:
    """The alert that a variant is back in stock (BackInStockSubscription
    payload["subscription_id"]) to its subscriber: the product, the variant and its SKU.

    A customer's goes to their account's email as it is now, a guest's to the email given.
    None (nothing sent) when the subscription is gone (with its variant or customer), the
    customer's account was deactivated or anonymised, or the variant is no longer
    purchasable (its product unpublished since).
    """
    subscription = (
        BackInStockSubscription.objects.select_related("variant__product", "customer")
        .filter(pk=payload["subscription_id"])
        .first()
    )
    if subscription is None or not subscription.variant.is_purchasable:
        return None
    customer = subscription.customer
    if customer is not None and not customer.is_active:
        return None
    recipient = customer.email if customer is not None else subscription.email
    context = {
        "customer": customer,
        "variant": subscription.variant,
        "product": subscription.variant.product,
        "subscription": subscription,
    }
    return EmailContent(f"{TEMPLATES}/back_in_stock", context, [recipient])
