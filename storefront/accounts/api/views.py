"""Accounts endpoints: registration, API tokens, passwords, email verification, the signed-in
user's profile, addresses, data export and account deletion.

Errors come out in the shape of docs/api.md; the codes of each endpoint are in
docs/accounts.md.
"""

from django.contrib.auth import logout, update_session_auth_hash
from django.http import JsonResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from storefront.accounts import selectors, services
from storefront.accounts.api.serializers import (
    AddressSerializer,
    EmailLinkSerializer,
    LoginSerializer,
    PasswordChangeSerializer,
    PasswordConfirmationSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    ProfileSerializer,
    RegistrationSerializer,
    TokenSerializer,
)
from storefront.accounts.authentication import TokenAuthentication
from storefront.accounts.exceptions import InvalidCredentials, InvalidToken, LoginLockedOut
from storefront.accounts.models import Address
from storefront.carts import selectors as carts
from storefront.core.api.exceptions import error_body
from storefront.core.api.filters import KnownQueryParameters
from storefront.core.api.schema import raises
from storefront.core.api.throttling import (
    ClientAddressThrottle,
    PasswordResetEmailThrottle,
    UserThrottle,
)
from storefront.orders import selectors as orders
from storefront.orders.api.serializers import OrderDetailSerializer
from storefront.orders.services import anonymise_customer

TAG = "accounts"
DETAIL_RESPONSE = {"type": "object", "properties": {"detail": {"type": "string"}}}
RESET_ACCEPTED = {
    "detail": "If an account has this email, a link to reset its password is on its way."
}
RESEND_ACCEPTED = {"detail": "If your email is not verified yet, a new link is on its way."}


def lockout_response(request, credentials=None, *args, **kwargs) -> JsonResponse:
    """django-axes lockout: too many failed logins for one email from one client address
    answers 429 in the error shape."""
    return JsonResponse(
        error_body(429, "throttled", "Too many failed login attempts; try again later."),
        status=429,
    )


class RegisterView(APIView):
    """Create a customer account."""

    # Anonymous by design: a stale session cookie must not make registration need CSRF.
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (ClientAddressThrottle,)
    throttle_scope = "register"

    @extend_schema(
        tags=[TAG],
        summary="Register a customer",
        description=(
            "Create a customer account and answer its profile (no token: log in with "
            "POST /api/auth/token/). The email is unique case-insensitively and stored "
            "lower-cased; the password must pass Django's password validators (errors under "
            "`password`). Throttled per client address by the `register` rate "
            "(THROTTLE_RATE_REGISTER, 429 `throttled`)."
        ),
        request=RegistrationSerializer,
        responses={201: ProfileSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = RegistrationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.register_customer(**serializer.validated_data)
        return Response(ProfileSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    """Log in: exchange email and password for an API token."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (ClientAddressThrottle,)
    throttle_scope = "login"

    @extend_schema(
        tags=[TAG],
        summary="Obtain an API token",
        description=(
            "Answer a new token and its expiry (ISO 8601). Send it as "
            "`Authorization: Token <token>`; a user holds at most AUTH_TOKENS_PER_USER "
            "tokens, the oldest being revoked. Wrong email or password, or an inactive "
            "account: 400 `invalid_credentials`. After 5 failures (LOGIN_FAILURE_LIMIT) for "
            "one email from one client address, 429 `throttled` for that email from that "
            "address, even with the right password, until the cool-off "
            "(LOGIN_COOLOFF_MINUTES) passes. Every request also counts against the `login` "
            "rate per client address (THROTTLE_RATE_LOGIN, 429 `throttled`)."
        ),
        request=LoginSerializer,
        responses={200: TokenSerializer},
    )
    @raises(InvalidCredentials, LoginLockedOut)
    def post(self, request: Request) -> Response:
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Django's HttpRequest: django-axes flags the lockout on the object it is given, and
        # AxesMiddleware only looks at the HttpRequest.
        instance, token = services.log_in(request=request._request, **serializer.validated_data)
        return Response(TokenSerializer({"token": token, "expiry": instance.expiry}).data)


class LogoutView(APIView):
    """Revoke the token the request is made with."""

    authentication_classes = (TokenAuthentication,)
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        tags=[TAG],
        summary="Log out (revoke this token)",
        request=None,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        services.log_out(request=request._request, token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    """Revoke every token of the signed-in user (all devices)."""

    authentication_classes = (TokenAuthentication,)
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        tags=[TAG],
        summary="Log out everywhere (revoke all tokens)",
        request=None,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        services.log_out_everywhere(request=request._request, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """The signed-in user's profile."""

    permission_classes = (IsAuthenticated,)
    # DELETE takes the password (storefront/core/api/schema.py documents the body).
    delete_reads_a_body = True

    @extend_schema(
        tags=[TAG],
        summary="Get my profile",
        responses={200: ProfileSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(ProfileSerializer(request.user).data)

    @extend_schema(
        tags=[TAG],
        summary="Update my profile",
        description=(
            "Change first_name, last_name, phone_number, birth_date. Read-only fields (id, "
            "email, membership, date_joined) and unknown fields (is_staff...) are ignored."
        ),
        request=ProfileSerializer,
        responses={200: ProfileSerializer},
    )
    def patch(self, request: Request) -> Response:
        serializer = ProfileSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = services.update_profile(user=request.user, changes=serializer.validated_data)
        return Response(ProfileSerializer(user).data)

    @extend_schema(
        tags=[TAG],
        summary="Delete my account",
        description=(
            "Erase the signed-in customer's personal data and close the account, given their "
            "password: name, email, phone, birth date, password, addresses, cart, API tokens "
            "and login records go, as `manage.py anonymise_customer` does; orders stay, as "
            "financial records, without the customer's name. Answers 204; every token then "
            "answers 401. A wrong password: 400 naming `password`, and nothing changes. "
            "Counts against the `login` rate per client address (429 `throttled`)."
        ),
        request=PasswordConfirmationSerializer,
        responses={204: None},
    )
    def delete(self, request: Request) -> Response:
        serializer = PasswordConfirmationSerializer(
            data=request.data, context={"user": request.user}
        )
        serializer.is_valid(raise_exception=True)
        anonymise_customer(customer=request.user)
        if request.auth is None:  # a session (the browsable API)
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def get_throttles(self):
        # Guessing the password through DELETE counts like guessing it at login.
        if self.request.method == "DELETE":
            self.throttle_scope = "login"
            return [ClientAddressThrottle()]
        return super().get_throttles()


class PasswordChangeView(APIView):
    """Change the signed-in user's password."""

    permission_classes = (IsAuthenticated,)
    throttle_classes = (ClientAddressThrottle,)
    throttle_scope = "login"

    @extend_schema(
        tags=[TAG],
        summary="Change my password",
        description=(
            "Given the current password, set a new one (Django's password validators apply: "
            "errors under `new_password`). A wrong current password: 400 naming "
            "`current_password`; nothing changes. On success (204) every other API token of "
            "the user is revoked and the lockouts of their email lifted; the token (or "
            "session) the request was made with stays valid. Counts against the `login` rate "
            "per client address (429 `throttled`)."
        ),
        request=PasswordChangeSerializer,
        responses={204: None},
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data, context={"user": request.user})
        serializer.is_valid(raise_exception=True)
        services.change_password(
            user=request.user,
            current_password=serializer.validated_data["current_password"],
            new_password=serializer.validated_data["new_password"],
            token=request.auth,
        )
        if request.auth is None:  # a session: keep it signed in
            update_session_auth_hash(request._request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetView(APIView):
    """Ask for a password reset email."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (ClientAddressThrottle, PasswordResetEmailThrottle)
    throttle_scope = "password_reset"

    @extend_schema(
        tags=[TAG],
        summary="Ask for a password reset email",
        description=(
            "Answers 202 with the same body whether or not an account has this email, after "
            "the same work (one outbox row): nothing tells whether it is registered. For an "
            "active account, an email with a link built from PASSWORD_RESET_URL ({uid} and "
            "{token} filled in) is sent; the link works once, for PASSWORD_RESET_TIMEOUT_MINUTES "
            "(60). Throttled per client address (THROTTLE_RATE_PASSWORD_RESET) and per email "
            "(THROTTLE_RATE_PASSWORD_RESET_EMAIL): 429 `throttled`."
        ),
        request=PasswordResetSerializer,
        responses={202: DETAIL_RESPONSE},
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.request_password_reset(email=serializer.validated_data["email"])
        return Response(RESET_ACCEPTED, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(APIView):
    """Set a new password from a reset link."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (ClientAddressThrottle,)
    throttle_scope = "login"

    @extend_schema(
        tags=[TAG],
        summary="Set a new password from a reset link",
        description=(
            "`uid` and `token` come from the link of the reset email. 204 on success: the link "
            "is spent, every API token of the user is revoked and the lockouts of their email "
            "are lifted; log in with the new password. A malformed, expired, spent or "
            "someone else's link: 400 `invalid_token`. A password the validators refuse: 400 "
            "naming `new_password` (the link stays valid). Counts against the `login` rate."
        ),
        request=PasswordResetConfirmSerializer,
        responses={204: None},
    )
    @raises(InvalidToken)
    def post(self, request: Request) -> Response:
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.reset_password(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VerifyEmailView(APIView):
    """Verify an email address from the link of the verification email."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (ClientAddressThrottle,)
    throttle_scope = "login"

    @extend_schema(
        tags=[TAG],
        summary="Verify my email address",
        description=(
            "`uid` and `token` come from the link of the verification email (sent at "
            "registration, and by POST /api/auth/verify-email/resend/). 204: the account's "
            "`email_verified` is true (opening the link again also answers 204). A malformed, "
            "expired or someone else's link, or one for an email the account no longer has: "
            "400 `invalid_token`. Links work for EMAIL_VERIFICATION_TIMEOUT_HOURS (72)."
        ),
        request=EmailLinkSerializer,
        responses={204: None},
    )
    @raises(InvalidToken)
    def post(self, request: Request) -> Response:
        serializer = EmailLinkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.verify_email(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VerifyEmailResendView(APIView):
    """Send the signed-in user a new verification email."""

    permission_classes = (IsAuthenticated,)
    throttle_classes = (UserThrottle,)
    user_throttle_scope = "verify_email_resend"

    @extend_schema(
        tags=[TAG],
        summary="Send me a new verification email",
        description=(
            "202 whether or not an email is sent: none is when `email_verified` is already "
            "true. Throttled per user (THROTTLE_RATE_VERIFY_EMAIL_RESEND, 429 `throttled`)."
        ),
        request=None,
        responses={202: DETAIL_RESPONSE},
    )
    def post(self, request: Request) -> Response:
        services.resend_verification_email(user=request.user)
        return Response(RESEND_ACCEPTED, status=status.HTTP_202_ACCEPTED)


class MeExportView(APIView):
    """Everything stored about the signed-in customer, as one JSON document."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(
        tags=[TAG],
        summary="Export my data",
        description=(
            "The right of access (GDPR article 15), self-service: `{exported_at, profile, "
            "addresses, cart, orders}`; `orders` holds every order the customer placed, oldest "
            "first, as GET /api/orders/{id}/ shows it (items, payment, events). A fixed number "
            "of queries whatever the number of orders."
        ),
        responses={200: {"type": "object"}},
    )
    def get(self, request: Request) -> Response:
        user = request.user
        cart = [
            {"variant_id": item.variant_id, "sku": item.variant.sku, "quantity": item.quantity}
            for item in carts.customer_cart_items(customer=user)
        ]
        placed = orders.customer_orders(customer=user)
        document = {
            "exported_at": timezone.now(),
            "profile": ProfileSerializer(user).data,
            "addresses": AddressSerializer(selectors.list_addresses(customer=user), many=True).data,
            "cart": cart,
            "orders": OrderDetailSerializer(placed, many=True, context={"request": request}).data,
        }
        return Response(document)


class AddressListView(GenericAPIView):
    """The signed-in customer's address book."""

    permission_classes = (IsAuthenticated,)
    serializer_class = AddressSerializer
    filter_backends = (KnownQueryParameters,)

    @extend_schema(
        tags=[TAG],
        summary="List my addresses",
        description="Paginated, oldest first.",
        responses={200: AddressSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        addresses = self.filter_queryset(selectors.list_addresses(customer=request.user))
        page = self.paginate_queryset(addresses)
        return self.get_paginated_response(AddressSerializer(page, many=True).data)

    @extend_schema(
        tags=[TAG],
        summary="Add an address",
        request=AddressSerializer,
        responses={201: AddressSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = AddressSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        address = services.create_address(customer=request.user, data=serializer.validated_data)
        return Response(AddressSerializer(address).data, status=status.HTTP_201_CREATED)


class AddressDetailView(GenericAPIView):
    """One address of the signed-in customer; anyone else's answers 404."""

    permission_classes = (IsAuthenticated,)
    serializer_class = AddressSerializer
    filter_backends = ()

    @extend_schema(
        tags=[TAG],
        summary="Get one of my addresses",
        responses={200: AddressSerializer},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(AddressSerializer(self.get_object()).data)

    @extend_schema(
        tags=[TAG],
        summary="Replace one of my addresses",
        request=AddressSerializer,
        responses={200: AddressSerializer},
    )
    def put(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=False)

    @extend_schema(
        tags=[TAG],
        summary="Change one of my addresses",
        request=AddressSerializer,
        responses={200: AddressSerializer},
    )
    def patch(self, request: Request, pk: int) -> Response:
        return self._update(request, pk, partial=True)

    @extend_schema(
        tags=[TAG],
        summary="Delete one of my addresses",
        responses={204: None},
    )
    def delete(self, request: Request, pk: int) -> Response:
        services.delete_address(address=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def get_object(self) -> Address:
        """The signed-in customer's address `pk`; AddressNotFound (404) for anyone else's.

        Also what OPTIONS calls (DRF's metadata) to decide whether to describe the PUT body:
        GenericAPIView's own get_object needs a `queryset`, which this view has none of.
        """
        return selectors.get_address(customer=self.request.user, address_id=self.kwargs["pk"])

    def _update(self, request: Request, pk: int, *, partial: bool) -> Response:
        address = self.get_object()
        serializer = AddressSerializer(address, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        address = services.update_address(address=address, changes=serializer.validated_data)
        return Response(AddressSerializer(address).data)
