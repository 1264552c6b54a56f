"""Access tokens of guest orders: what lets a guest who has no account see, pay and cancel
the order they placed (GET /api/guest-orders/{access_token}/ and its actions).

The token of an order is an HMAC-SHA256 of its number, keyed by SECRET_KEY (Django's
salted_hmac): 64 hex characters, 256 bits, unguessable without the key. The database keeps
only the token's SHA-256 (`Order.access_token_digest`, unique) to find the order by, so a
copy of the database alone opens no order. Being derived, the token can be given again
when a checkout is replayed (the same Idempotency-Key) and put in the confirmation email,
without ever being stored. Rotating SECRET_KEY changes the tokens given from then on; the
tokens given before keep working (their digests are stored).
"""

import hashlib
import re

from django.utils.crypto import salted_hmac

KEY_SALT = "storefront.orders.guest_access"
TOKEN_PATTERN = re.compile(r"[0-9a-f]{64}")


def access_token(*, order_number: str) -> str:
    """The access token of the guest order numbered `order_number` (64 hex characters)."""
    return salted_hmac(KEY_SALT, order_number, algorithm="sha256").hexdigest()


def digest(token: str) -> str:
    """The SHA-256 (hex) of `token`: what Order.access_token_digest stores."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_well_formed(token: str) -> bool:
    """Whether `token` has the shape of an access token (64 lower-case hex characters)."""
    return TOKEN_PATTERN.fullmatch(token) is not None
