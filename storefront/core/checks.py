"""System checks of Storefront's own settings (`manage.py check`, `check --deploy`)."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django_countries import countries

from storefront.core.api.throttling import ClientAddressThrottle
from storefront.pricing.models import TaxClass


@register(Tags.security, deploy=True)
def check_num_proxies(app_configs, **kwargs) -> list[Warning]:
    """storefront.W001: production runs without NUM_PROXIES set (it then counts as 0)."""
    if settings.NUM_PROXIES is not None:
        return []
    return [
        Warning(
            "NUM_PROXIES is not set: throttles and login lockouts count every client under "
            "the socket's address, which behind a reverse proxy is the proxy's own.",
            hint="Set NUM_PROXIES to the number of proxies that append to X-Forwarded-For "
            "(0 if gunicorn faces the clients).",
            id="storefront.W001",
        )
    ]


@register(Tags.security)
def check_limits(app_configs, **kwargs) -> list[Error]:
    """Settings that would fail only later, on a request or in a task, checked at start-up.

    storefront.E001: a negative NUM_PROXIES. storefront.E002: a throttle rate DRF cannot
    read (every throttled request would answer 500). storefront.E003: AUTH_TOKENS_PER_USER
    below 1 (every login would revoke the token it issues). storefront.E004:
    GUEST_CART_MAX_AGE_DAYS below 1 (the nightly task would delete every guest cart).
    storefront.E005: STORE_COUNTRY not an ISO 3166-1 alpha-2 code (text addresses would be
    stored with a country no address object may have). storefront.E006: SHIPPING_TAX_CLASS
    not a tax class.
    """
    errors = []
    if settings.NUM_PROXIES is not None and settings.NUM_PROXIES < 0:
        errors.append(Error("NUM_PROXIES cannot be negative.", id="storefront.E001"))
    rates = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})
    for scope, rate in rates.items():
        try:
            ClientAddressThrottle().parse_rate(rate)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            errors.append(
                Error(
                    f"Throttle rate {rate!r} of {scope!r} is not <number>/<period>.",
                    hint='For example "20/hour"; the period is second, minute, hour or day.',
                    id="storefront.E002",
                )
            )
    if settings.AUTH_TOKENS_PER_USER < 1:
        errors.append(Error("AUTH_TOKENS_PER_USER must be at least 1.", id="storefront.E003"))
    if settings.GUEST_CART_MAX_AGE_DAYS < 1:
        errors.append(Error("GUEST_CART_MAX_AGE_DAYS must be at least 1.", id="storefront.E004"))
    if settings.STORE_COUNTRY not in countries:
        errors.append(
            Error(
                f"STORE_COUNTRY {settings.STORE_COUNTRY!r} is not an ISO 3166-1 alpha-2 code.",
                hint='For example "US", "GB" or "FR".',
                id="storefront.E005",
            )
        )
    if settings.SHIPPING_TAX_CLASS not in TaxClass.values:
        errors.append(
            Error(
                f"SHIPPING_TAX_CLASS {settings.SHIPPING_TAX_CLASS!r} is not a tax class.",
                hint="One of: " + ", ".join(TaxClass.values) + ".",
                id="storefront.E006",
            )
        )
    return errors
