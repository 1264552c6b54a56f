"""Payment endpoints that providers (and the sandbox's bank page) call: Stripe's webhook,
and the sandbox's 3-D Secure confirmation. Neither is the customer's API: no login, no
CSRF; Stripe's signature, or the client secret, is the credential.

Errors use the shape of docs/api.md; what each answers is in docs/payments.md.
"""

import stripe
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from storefront.core.api.schema import raises
from storefront.core.exceptions import NotFound
from storefront.payments import webhooks
from storefront.payments.exceptions import (
    InvalidPaymentToken,
    InvalidWebhookSignature,
    PaymentMethodUnavailable,
    PaymentNotAllowed,
    PaymentProviderUnavailable,
)
from storefront.payments.models import Payment

SIGNATURE_HEADER = "Stripe-Signature"


# Two small payloads, declared next to the only views that use them.
class WebhookReceivedSerializer(serializers.Serializer):
    received = serializers.BooleanField(help_text="Always true: the event was taken.")
    duplicate = serializers.BooleanField(
        help_text="True when this event id was delivered before (nothing was done again)."
    )


class SandboxConfirmSerializer(serializers.Serializer):
    client_secret = serializers.CharField(
        max_length=255, help_text="The order's payment.client_secret (status requires_action)."
    )
    succeed = serializers.BooleanField(
        help_text="The bank's answer: true to pass 3-D Secure, false to fail it."
    )


class SandboxConfirmedSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=Payment.Status.choices, help_text="The payment's status now."
    )


class StripeWebhookView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                SIGNATURE_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="Stripe's signature of the raw body: t=<unix time>,v1=<hex>.",
            )
        ],
        responses=WebhookReceivedSerializer,
    )
    @raises(InvalidWebhookSignature, PaymentProviderUnavailable, NotFound)
    def post(self, request: Request) -> Response:
        """Stripe's webhook: a signed Event (the raw body, verified with
        STRIPE_WEBHOOK_SECRET; at most 5 minutes old).

        200 {received, duplicate} once recorded, also for a repeated delivery (nothing is
        done twice) and for event types or payments Storefront does not handle; 400
        invalid_signature for a missing or wrong signature or a body that is not an event
        (a missing header or body is refused first, configured or not),
        400 invalid / parse_error for a body the API refuses anywhere (nothing recorded);
        404 while Stripe is not configured; 503 payment_provider_unavailable when handling
        needs Stripe and it failed (nothing recorded: Stripe delivers it again).
        """
        # The raw bytes Stripe signed, read before the API's parser reads them: it refuses,
        # as everywhere, what no text column takes (NUL, lone surrogates) and deep nesting.
        payload = request.body
        if not isinstance(request.data, dict):
            raise InvalidWebhookSignature("The webhook body is not an event.")
        if SIGNATURE_HEADER not in request.headers:
            raise InvalidWebhookSignature(f"The {SIGNATURE_HEADER} header is missing.")
        if not (settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET):
            raise NotFound()
        try:
            event = stripe.Webhook.construct_event(
                payload, request.headers.get(SIGNATURE_HEADER), settings.STRIPE_WEBHOOK_SECRET
            )
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise InvalidWebhookSignature() from error
        new = webhooks.handle_stripe_event(event=event.to_dict())
        return Response({"received": True, "duplicate": not new})


class SandboxConfirmView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(request=SandboxConfirmSerializer, responses=SandboxConfirmedSerializer)
    @raises(InvalidPaymentToken, PaymentNotAllowed, PaymentMethodUnavailable, NotFound)
    def post(self, request: Request) -> Response:
        """The sandbox's 3-D Secure page: answer for the payment of {client_secret} with
        {succeed}; the order then moves as a real bank's answer would move it.

        200 {status}: completed or authorised (the order moves to processing), or failed
        (payment.failure_code authentication_failed; the order waits); 400
        invalid_payment_token for an unknown client secret; 409 payment_not_allowed when
        the payment no longer waits for 3-D Secure; 404 while settings.PAYMENT_SANDBOX is
        off.
        """
        if not settings.PAYMENT_SANDBOX:
            raise NotFound()
        serializer = SandboxConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = webhooks.confirm_sandbox_action(**serializer.validated_data)
        return Response({"status": payment.status})
