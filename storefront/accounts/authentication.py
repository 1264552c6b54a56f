"""API token authentication: django-rest-knox, hardened against undecodable tokens."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth
from knox.signals import token_expired
from rest_framework import exceptions

from storefront.core.api.parsers import text_error


class TokenAuthentication(auth.TokenAuthentication):
    """knox's `Authorization: Token <token>` authentication (tokens hashed, expiring).

    knox decodes the token as UTF-8 without catching the error, so any header byte that is
    not UTF-8 (HTTP headers arrive as Latin-1) made every endpoint answer 500, and it looks
    a NUL up in PostgreSQL, which refuses it (500 again). Such a token cannot exist, so it
    is refused like any other invalid token: 401.
    """

    def authenticate_credentials(self, token: bytes):
        try:
            text = token.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or text_error(text) is not None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        return super().authenticate_credentials(token)

    def _cleanup_token(self, auth_token) -> bool:
        """Delete `auth_token` and return True if it has expired.

        knox also reads every other token of the user on every request to delete the expired
        ones: a second query on each authenticated request. Expired tokens are refused either
        way; the Celery beat task accounts.tasks.delete_expired_tokens deletes them in bulk.
        """
        if auth_token.expiry is None or auth_token.expiry >= timezone.now():
            return False
        username = auth_token.user.get_username()
        auth_token.delete()
        token_expired.send(sender=self.__class__, username=username, source="auth_token")
        return True


class TokenAuthenticationScheme(KnoxTokenScheme):
    """OpenAPI security scheme of TokenAuthentication (drf-spectacular matches exact classes)."""

    target_class = TokenAuthentication
    name = "tokenAuth"
