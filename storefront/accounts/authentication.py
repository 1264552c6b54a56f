"""API token authentication: django-rest-knox, hardened against undecodable tokens."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth
from rest_framework import exceptions


class TokenAuthentication(auth.TokenAuthentication):
    """knox's `Authorization: Token <token>` authentication (tokens hashed, expiring).

    knox decodes the token as UTF-8 without catching the error, so any header byte that is
    not UTF-8 (HTTP headers arrive as Latin-1) made every endpoint answer 500. Such a token
    cannot exist, so it is refused like any other invalid token: 401.
    """

    def authenticate_credentials(self, token: bytes):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        return super().authenticate_credentials(token)


class TokenAuthenticationScheme(KnoxTokenScheme):
    """OpenAPI security scheme of TokenAuthentication (drf-spectacular matches exact classes)."""

    target_class = TokenAuthentication
    name = "tokenAuth"
