"""Payment providers: the small interface a gateway implements, and the two built in.

- Cash on delivery: nothing is charged online; staff record the cash as received.
- Sandbox card: a development and test gateway. Like a real gateway's test mode, it takes a
  token instead of card data: "tok_success" is charged, "tok_declined" is declined, any
  other token is refused as invalid. It takes card payments only while
  settings.PAYMENT_SANDBOX is on (`make run` and the tests; off in production), because
  anyone who reads the docs can "pay" with it.

A real gateway plugs in by implementing PaymentProvider and registering it for a method,
e.g. from an AppConfig.ready(): `register_provider(Payment.Method.CARD, StripeProvider())`.
A registered provider takes precedence over the sandbox. With neither, card payments are
unavailable: checkout refuses them (PaymentMethodUnavailable).
Providers receive tokens, never card numbers, and must not log what they receive.
"""

import abc
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from storefront.payments.exceptions import (
    InvalidPaymentToken,
    PaymentMethodUnavailable,
    PaymentNotAllowed,
)
from storefront.payments.models import Payment


@dataclass(frozen=True)
class ChargeResult:
    """The outcome of one charge attempt.

    `reference` is the provider's id of the attempt (kept on the Payment); `failure_code`
    says why a declined attempt failed, e.g. "card_declined".
    """

    succeeded: bool
    reference: str
    failure_code: str = ""


class PaymentProvider(abc.ABC):
    """A payment gateway for one payment method."""

    #: Whether customers pay online through `charge` (false: paid outside, e.g. cash).
    charges_online: bool = True

    @abc.abstractmethod
    def charge(
        self, *, amount: Decimal, currency: str, token: str, payment_id: int
    ) -> ChargeResult:
        """Charge `amount` in `currency` (ISO 4217) with the client's provider `token`.

        Return a ChargeResult whether it succeeded or was declined; raise
        InvalidPaymentToken if the token is unknown (nothing was charged). `payment_id`
        identifies the payment (e.g. as gateway metadata); a declined payment may be charged
        again, so a gateway idempotency key must be per attempt, not per payment.
        """

    @abc.abstractmethod
    def refund(self, *, amount: Decimal, currency: str, charge_reference: str) -> str:
        """Refund `amount` of the charge `charge_reference`; return the refund's reference."""


class CashOnDeliveryProvider(PaymentProvider):
    """Cash handed to the courier: never charged online, refunded by hand."""

    charges_online = False

    def charge(
        self, *, amount: Decimal, currency: str, token: str, payment_id: int
    ) -> ChargeResult:
        raise PaymentNotAllowed("Cash-on-delivery orders are paid to the courier, not online.")

    def refund(self, *, amount: Decimal, currency: str, charge_reference: str) -> str:
        # The money goes back outside Storefront; the reference only ties the records together.
        return f"cod_re_{uuid.uuid4().hex}"


class SandboxCardProvider(PaymentProvider):
    """A fake card gateway for development and tests; never moves money."""

    SUCCESS_TOKEN = "tok_success"
    DECLINED_TOKEN = "tok_declined"

    def charge(
        self, *, amount: Decimal, currency: str, token: str, payment_id: int
    ) -> ChargeResult:
        reference = f"sandbox_ch_{uuid.uuid4().hex}"
        if token == self.SUCCESS_TOKEN:
            return ChargeResult(succeeded=True, reference=reference)
        if token == self.DECLINED_TOKEN:
            return ChargeResult(succeeded=False, reference=reference, failure_code="card_declined")
        raise InvalidPaymentToken(
            f'Unknown sandbox token; use "{self.SUCCESS_TOKEN}" or "{self.DECLINED_TOKEN}".'
        )

    def refund(self, *, amount: Decimal, currency: str, charge_reference: str) -> str:
        return f"sandbox_re_{uuid.uuid4().hex}"


# Providers registered for a method; the sandbox is not one of them, so that turning
# settings.PAYMENT_SANDBOX off (e.g. in a test) takes it away at once.
_providers: dict[str, PaymentProvider] = {
    Payment.Method.CASH_ON_DELIVERY: CashOnDeliveryProvider(),
}
_sandbox = SandboxCardProvider()


def get_provider(method: str) -> PaymentProvider:
    """The provider that takes payments of `method` (a Payment.Method value).

    The one registered for it, else for cards the sandbox while settings.PAYMENT_SANDBOX is
    on. Raises PaymentMethodUnavailable (400) when no provider takes `method`.
    """
    provider = _providers.get(method)
    if provider is None and method == Payment.Method.CARD and settings.PAYMENT_SANDBOX:
        provider = _sandbox
    if provider is None:
        raise PaymentMethodUnavailable(
            f'Payment method "{method}" is not available.', details={"payment_method": method}
        )
    return provider


def register_provider(method: str, provider: PaymentProvider) -> None:
    """Use `provider` for every payment of `method` (a Payment.Method value) from now on."""
    if method not in Payment.Method.values:
        raise ValueError(f"Unknown payment method: {method!r}")
    _providers[method] = provider


def unregister_provider(method: str) -> None:
    """Stop using the provider registered for `method`; cards fall back to the sandbox if on."""
    _providers.pop(method, None)
