"""Payment providers: the interface a gateway implements, and the ones built in.

- Cash on delivery: nothing is charged online; staff record the cash as received.
- Sandbox card: a development and test gateway that moves no money. Like a real gateway's
  test mode it takes a token instead of card data (SandboxCardProvider.TOKENS). It takes card
  payments only while settings.PAYMENT_SANDBOX is on (`make run` and the tests; off in
  production), because anyone who reads the docs can "pay" with it.
- Stripe (storefront/payments/stripe.py): registered for cards when settings.STRIPE_SECRET_KEY
  is set (PaymentsConfig.ready).

A provider answers every call with what it now knows of the payment (ProviderPayment) and
receives an idempotency key with every call that moves money (services.idempotency_key:
our payment id and the operation), so that a call repeated after a timeout or a crash never
charges, captures or refunds twice. Providers receive tokens, never card numbers, and must
not log what they receive.
"""

import abc
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F

from storefront.payments.exceptions import (
    InvalidPaymentToken,
    PaymentMethodUnavailable,
    PaymentNotAllowed,
)
from storefront.payments.models import Payment, SandboxPayment

Status = Payment.Status
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ProviderPayment:
    """What the provider says of a payment, after a call or when asked (retrieve).

    `status` is a Payment.Status value: pending (waiting for the customer, e.g. a
    PaymentIntent with no card yet), requires_action (the customer must confirm, e.g. 3-D
    Secure, with `client_secret` in the browser), authorised (held, to be captured),
    completed (captured), failed (declined: `failure_code`, e.g. card_declined,
    insufficient_funds), voided (cancelled before capture), refunded or partially_refunded.
    `captured_amount` and `refunded_amount` are in the payment's currency (Decimal, major
    units). `reference` is the provider's id of the payment.
    """

    status: str
    reference: str
    client_secret: str = ""
    captured_amount: Decimal = ZERO
    refunded_amount: Decimal = ZERO
    failure_code: str = ""


@dataclass(frozen=True)
class ProviderRefund:
    """The provider's answer to a refund: its id, and whether it succeeded (False: refused,
    `failure_code` says why; nothing was refunded)."""

    reference: str
    succeeded: bool = True
    failure_code: str = ""


class PaymentProvider(abc.ABC):
    """A payment gateway for one payment method. Amounts are Decimal in the payment's
    currency (ISO 4217); the provider converts them to its own units."""

    #: The name kept on Payment.provider.
    name: str = ""
    #: Whether customers pay online (false: paid outside, e.g. cash).
    charges_online: bool = True
    #: Whether checkout opens the payment with the provider (`start`), so that the order
    #: comes back with a client secret for the browser (Stripe's PaymentIntent). Otherwise
    #: the customer pays later with a token (`authorise`, POST /api/orders/{id}/pay/).
    starts_at_checkout: bool = False

    def start(self, *, payment: Payment, capture: bool, idempotency_key: str) -> ProviderPayment:
        """Open the payment at the provider for `payment.amount`, nothing charged yet; the
        answer carries its reference and client secret. Only for starts_at_checkout."""
        raise NotImplementedError

    @abc.abstractmethod
    def authorise(
        self, *, payment: Payment, token: str, capture: bool, idempotency_key: str
    ) -> ProviderPayment:
        """Authorise `payment.amount` with the client's provider `token` and, with
        `capture`, capture it at once. Confirms the payment opened by `start` when
        `payment.provider_reference` is set. A decline is an answer (status failed), not an
        exception; raise InvalidPaymentToken for a token the provider does not know."""

    @abc.abstractmethod
    def capture(
        self, *, payment: Payment, amount: Decimal, idempotency_key: str
    ) -> ProviderPayment:
        """Capture `amount` of an authorised payment."""

    @abc.abstractmethod
    def void(self, *, payment: Payment, idempotency_key: str) -> ProviderPayment:
        """Cancel a payment nothing was captured of. If the provider captured it meanwhile
        (a success racing the cancellation), answer that (status completed): the caller
        then refunds or keeps it."""

    @abc.abstractmethod
    def refund(self, *, payment: Payment, amount: Decimal, idempotency_key: str) -> ProviderRefund:
        """Refund `amount` of the captured payment (all of it or part)."""

    @abc.abstractmethod
    def retrieve(self, *, payment: Payment) -> ProviderPayment:
        """What the provider knows of the payment now (reconciliation)."""


class CashOnDeliveryProvider(PaymentProvider):
    """Cash handed to the courier: never charged online, refunded by hand."""

    name = "cash_on_delivery"
    charges_online = False

    def authorise(self, *, payment, token, capture, idempotency_key) -> ProviderPayment:
        raise PaymentNotAllowed("Cash-on-delivery orders are paid to the courier, not online.")

    def capture(self, *, payment, amount, idempotency_key) -> ProviderPayment:
        raise PaymentNotAllowed("Cash-on-delivery orders are paid to the courier, not online.")

    def void(self, *, payment, idempotency_key) -> ProviderPayment:
        return ProviderPayment(status=Status.VOIDED, reference=payment.provider_reference)

    def refund(self, *, payment, amount, idempotency_key) -> ProviderRefund:
        # The money goes back outside Storefront; the reference only ties the records together.
        return ProviderRefund(reference=f"cod_re_{uuid.uuid4().hex}")

    def retrieve(self, *, payment) -> ProviderPayment:
        return ProviderPayment(
            status=payment.status,
            reference=payment.provider_reference,
            captured_amount=payment.captured_amount,
            refunded_amount=payment.refunded_amount,
        )


class SandboxCardProvider(PaymentProvider):
    """A fake card gateway for development and tests: it keeps its side of each payment in
    SandboxPayment, as a gateway would, and never moves money.

    Tokens: "tok_success" pays; "tok_declined" is declined (card_declined);
    "tok_insufficient_funds" is declined (insufficient_funds); "tok_requires_action" asks for
    3-D Secure: the payment waits in requires_action with a client secret until the
    customer's bank page answers (confirm_action, which POST /api/payments/sandbox/confirm/
    plays). Any other token is refused as invalid.
    """

    name = "sandbox"
    SUCCESS_TOKEN = "tok_success"
    DECLINED_TOKEN = "tok_declined"
    INSUFFICIENT_FUNDS_TOKEN = "tok_insufficient_funds"
    REQUIRES_ACTION_TOKEN = "tok_requires_action"
    TOKENS = (SUCCESS_TOKEN, DECLINED_TOKEN, INSUFFICIENT_FUNDS_TOKEN, REQUIRES_ACTION_TOKEN)
    DECLINES = {DECLINED_TOKEN: "card_declined", INSUFFICIENT_FUNDS_TOKEN: "insufficient_funds"}

    def authorise(self, *, payment, token, capture, idempotency_key) -> ProviderPayment:
        if token not in self.TOKENS:
            raise InvalidPaymentToken(
                f"Unknown sandbox token; use one of {', '.join(map(repr, self.TOKENS))}."
            )
        if token in self.DECLINES:
            status, failure = Status.FAILED, self.DECLINES[token]
        elif token == self.REQUIRES_ACTION_TOKEN:
            status, failure = Status.REQUIRES_ACTION, ""
        else:
            status, failure = (Status.COMPLETED if capture else Status.AUTHORISED), ""
        reference = f"sandbox_pi_{uuid.uuid4().hex}"
        record, _ = SandboxPayment.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "reference": reference,
                "amount": payment.amount,
                "currency": payment.currency,
                "status": status,
                "capture": capture,
                "client_secret": f"{reference}_secret_{uuid.uuid4().hex[:16]}"
                if status == Status.REQUIRES_ACTION
                else "",
                "captured_amount": payment.amount if status == Status.COMPLETED else ZERO,
            },
        )
        return self._answer(record, failure_code=failure if record.status == Status.FAILED else "")

    def confirm_action(self, *, client_secret: str, succeed: bool) -> ProviderPayment:
        """The customer's bank answers 3-D Secure for the payment of `client_secret`: it is
        then authorised (captured if it was to be) or failed. Raises InvalidPaymentToken for
        an unknown secret and PaymentNotAllowed when it no longer waits for an answer."""
        with transaction.atomic():
            record = (
                SandboxPayment.objects.select_for_update()
                .filter(client_secret=client_secret)
                .first()
            )
            if record is None or not client_secret:
                raise InvalidPaymentToken("Unknown sandbox client secret.")
            if record.status != Status.REQUIRES_ACTION:
                raise PaymentNotAllowed(f"This sandbox payment is {record.status}.")
            if not succeed:
                record.status = Status.FAILED
            elif record.capture:
                record.status, record.captured_amount = Status.COMPLETED, record.amount
            else:
                record.status = Status.AUTHORISED
            record.save(update_fields=["status", "captured_amount"])
        return self._answer(record, failure_code="" if succeed else "authentication_failed")

    def capture(self, *, payment, amount, idempotency_key) -> ProviderPayment:
        with transaction.atomic():
            record = self._locked(payment)
            if record.status == Status.AUTHORISED:
                record.status, record.captured_amount = Status.COMPLETED, amount
                record.save(update_fields=["status", "captured_amount"])
            elif record.status != Status.COMPLETED:
                raise PaymentNotAllowed(f"A {record.status} sandbox payment cannot be captured.")
        return self._answer(record)

    def void(self, *, payment, idempotency_key) -> ProviderPayment:
        with transaction.atomic():
            record = self._locked(payment, missing_ok=True)
            if record is None:  # Never reached the sandbox: nothing to cancel.
                return ProviderPayment(status=Status.VOIDED, reference=payment.provider_reference)
            if record.status in (
                Status.PENDING,
                Status.REQUIRES_ACTION,
                Status.AUTHORISED,
                Status.FAILED,
            ):
                record.status = Status.VOIDED
                record.save(update_fields=["status"])
        return self._answer(record)

    def refund(self, *, payment, amount, idempotency_key) -> ProviderRefund:
        with transaction.atomic():
            record = self._locked(payment)
            done = record.refunds.get(idempotency_key)
            if done is not None:
                return ProviderRefund(reference=done["reference"])
            if amount > record.captured_amount - record.refunded_amount:
                return ProviderRefund(
                    reference="", succeeded=False, failure_code="amount_too_large"
                )
            reference = f"sandbox_re_{uuid.uuid4().hex}"
            record.refunds[idempotency_key] = {"reference": reference, "amount": str(amount)}
            SandboxPayment.objects.filter(pk=record.pk).update(
                refunds=record.refunds, refunded_amount=F("refunded_amount") + amount
            )
        return ProviderRefund(reference=reference)

    def retrieve(self, *, payment) -> ProviderPayment:
        record = SandboxPayment.objects.filter(reference=payment.provider_reference).first()
        if record is None:
            return ProviderPayment(status=Status.PENDING, reference=payment.provider_reference)
        return self._answer(record)

    @staticmethod
    def _locked(payment: Payment, missing_ok: bool = False) -> SandboxPayment | None:
        record = (
            SandboxPayment.objects.select_for_update()
            .filter(reference=payment.provider_reference)
            .first()
        )
        if record is None and not missing_ok:
            raise PaymentNotAllowed("The sandbox has no such payment.")
        return record

    @staticmethod
    def _answer(record: SandboxPayment, failure_code: str = "") -> ProviderPayment:
        status = record.status
        if status == Status.COMPLETED and record.refunded_amount:
            status = (
                Status.REFUNDED
                if record.refunded_amount >= record.captured_amount
                else Status.PARTIALLY_REFUNDED
            )
        return ProviderPayment(
            status=status,
            reference=record.reference,
            client_secret=record.client_secret,
            captured_amount=record.captured_amount,
            refunded_amount=record.refunded_amount,
            failure_code=failure_code,
        )


# Providers registered for a method; the sandbox is not one of them, so that turning
# settings.PAYMENT_SANDBOX off (e.g. in a test) takes it away at once.
_providers: dict[str, PaymentProvider] = {
    Payment.Method.CASH_ON_DELIVERY: CashOnDeliveryProvider(),
}
_sandbox = SandboxCardProvider()
# Every provider by name, for payments taken by one that is no longer the method's (a
# refund of a sandbox payment after a gateway was registered).
_by_name: dict[str, PaymentProvider] = {
    provider.name: provider for provider in (*_providers.values(), _sandbox)
}


def get_provider(method: str) -> PaymentProvider:
    """The provider that takes new payments of `method` (a Payment.Method value).

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


def provider_of(payment: Payment) -> PaymentProvider:
    """The provider holding `payment` (Payment.provider), else the one of its method now.

    Raises PaymentMethodUnavailable (400) when that provider is no longer configured.
    """
    provider = _by_name.get(payment.provider) if payment.provider else None
    if provider is not None and (provider is not _sandbox or settings.PAYMENT_SANDBOX):
        return provider
    return get_provider(payment.method)


def sandbox() -> SandboxCardProvider:
    """The sandbox card provider; raises PaymentMethodUnavailable while PAYMENT_SANDBOX is off."""
    if not settings.PAYMENT_SANDBOX:
        raise PaymentMethodUnavailable(
            "The sandbox is off.", details={"payment_method": Payment.Method.CARD}
        )
    return _sandbox


def register_provider(method: str, provider: PaymentProvider) -> None:
    """Use `provider` for every new payment of `method` (a Payment.Method value) from now on."""
    if method not in Payment.Method.values:
        raise ValueError(f"Unknown payment method: {method!r}")
    _providers[method] = provider
    if provider.name:
        _by_name[provider.name] = provider


def unregister_provider(method: str) -> None:
    """Stop using the provider registered for `method`; cards fall back to the sandbox if on."""
    provider = _providers.pop(method, None)
    if provider is not None and _by_name.get(provider.name) is provider:
        del _by_name[provider.name]
