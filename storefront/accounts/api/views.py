"""Accounts endpoints: registration, API tokens, the signed-in user's profile and addresses.

Errors come out in the shape of docs/api.md; the codes of each endpoint are in
docs/accounts.md.
"""

from django.http import JsonResponse
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
    LoginSerializer,
    ProfileSerializer,
    RegistrationSerializer,
    TokenSerializer,
)
from storefront.accounts.authentication import TokenAuthentication
from storefront.accounts.exceptions import InvalidCredentials, LoginLockedOut
from storefront.accounts.models import Address
from storefront.core.api.exceptions import error_body
from storefront.core.api.filters import KnownQueryParameters
from storefront.core.api.schema import raises
from storefront.core.api.throttling import ClientAddressThrottle

TAG = "accounts"


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
