from django.apps import AppConfig
from django.conf import settings


class PaymentsConfig(AppConfig):
    name = "storefront.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from storefront.payments import checks  # noqa: F401  (registers the system checks)

        if settings.STRIPE_SECRET_KEY:
            # Card payments go through Stripe; without a key it is not offered at all.
            from storefront.payments.models import Payment
            from storefront.payments.providers import register_provider
            from storefront.payments.stripe import StripeProvider

            register_provider(Payment.Method.CARD, StripeProvider())
