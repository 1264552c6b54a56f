"""System checks of the payment setup, run by `manage.py check --deploy`."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def check_sandbox_off_in_production(**kwargs) -> list[checks.CheckMessage]:
    """Warn when the sandbox card provider is on while DEBUG is off (a production site).

    With the sandbox on, any customer pays a card order with the documented test token.
    """
    if settings.PAYMENT_SANDBOX and not settings.DEBUG:
        return [
            checks.Warning(
                "PAYMENT_SANDBOX is on with DEBUG off: any customer can pay card orders "
                'with the sandbox test token "tok_success".',
                hint="Unset PAYMENT_SANDBOX and register a real card gateway "
                "(docs/checkout.md, Payments).",
                id="payments.W001",
            )
        ]
    return []
