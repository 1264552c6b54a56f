"""One-time tokens of account emails: password reset and email verification.

Both are Django's PasswordResetTokenGenerator tokens (django.contrib.auth.tokens): an HMAC
of the user's state, keyed by SECRET_KEY (and SECRET_KEY_FALLBACKS), with the time it was
made. Nothing is stored: a token stops working when the state it hashes changes, so each
works once.

- password reset: hashes the password hash, last login and email; valid
  settings.PASSWORD_RESET_TIMEOUT seconds (default 3,600). Setting a new password, or
  logging in, spends it.
- email verification: hashes the email and whether it is verified; valid
  settings.EMAIL_VERIFICATION_TIMEOUT seconds (default 3 days). Verifying spends it, and
  it never verifies an email the account no longer has.

Links carry the user's id as `uid` (urlsafe base64, Django's urlsafe_base64_encode) and
the token as `token`: see `link`.
"""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode

from storefront.accounts.models import User

password_reset_tokens = PasswordResetTokenGenerator()


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    """Tokens that verify a user's current email, valid EMAIL_VERIFICATION_TIMEOUT seconds."""

    key_salt = "storefront.accounts.tokens.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return f"{user.pk}{user.email}{user.email_verified}{timestamp}"

    def check_token(self, user: User | None, token: str | None) -> bool:
        # Django's check, with this generator's own timeout instead of PASSWORD_RESET_TIMEOUT.
        if not (user and token):
            return False
        try:
            ts_b36, _ = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        if self._num_seconds(self._now()) - ts > settings.EMAIL_VERIFICATION_TIMEOUT:
            return False
        return any(
            constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token)
            for secret in (self.secret, *self.secret_fallbacks)
        )


email_verification_tokens = EmailVerificationTokenGenerator()


def uid_for(user: User) -> str:
    """The user's id as a link carries it (urlsafe base64 of the decimal id)."""
    return urlsafe_base64_encode(force_bytes(user.pk))


def user_for(uid: str) -> User | None:
    """The active user a link's `uid` names, or None (malformed, unknown or inactive)."""
    try:
        pk = int(urlsafe_base64_decode(uid).decode())
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        return None
    if not 0 < pk < 2**63:  # the id column's range
        return None
    return User.objects.filter(pk=pk, is_active=True).first()


def link(template: str, user: User, token: str) -> str:
    """`template` (PASSWORD_RESET_URL, EMAIL_VERIFICATION_URL) with {uid} and {token} filled."""
    return template.replace("{uid}", uid_for(user)).replace("{token}", token)
