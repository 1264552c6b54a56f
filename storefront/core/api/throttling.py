"""Rate limits of the API: the base class of every throttle in the project.

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], each read from the environment in
config/settings/base.py (THROTTLE_RATE_<SCOPE>); docs/api.md lists them. Counters live in
the default cache (Redis in production, shared by every worker).
"""

import hashlib
import logging

import redis
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from storefront.core.client_address import client_address

logger = logging.getLogger(__name__)

# What the cache can raise when its Redis fails: redis-py's errors, the breaker's
# CacheUnavailable (a redis ConnectionError, storefront/core/cache.py), socket errors. A bug
# (a bad rate, a key that cannot be built) is not one of them: it answers 500 and is fixed.
CACHE_ERRORS = (redis.RedisError, OSError)


class RateThrottle(SimpleRateThrottle):
    """Django REST framework's SimpleRateThrottle, hardened; subclass it for every throttle.

    - The client is identified by storefront.core.client_address (NUM_PROXIES), the address
      django-axes counts failed logins under too.
    - When the cache fails (Redis down, a timeout, a circuit breaker refusing), the request is
      allowed and the failure logged (logger storefront.core.api.throttling, WARNING): a rate
      limit must not turn an outage of its counters into an outage of the endpoint.
    """

    @property
    def THROTTLE_RATES(self) -> dict[str, str | None]:
        # DRF binds the rates once, at import; read at each request, a settings override
        # (a test's) applies as it does everywhere else.
        return api_settings.DEFAULT_THROTTLE_RATES

    def get_ident(self, request: Request) -> str:
        return str(client_address(request))

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS:
            logger.warning(
                "Throttle %r could not use the cache; request allowed.", self.scope, exc_info=True
            )
            return True


class ClientAddressThrottle(RateThrottle):
    """A rate per client address, named by the view's `throttle_scope`.

    Like DRF's ScopedRateThrottle, except that a signed-in user is counted under the address
    too: these scopes (register, login, guest_cart) limit what one client can create or try,
    whoever it says it is. A view without `throttle_scope`, or whose rate is None, is not
    limited.
    """

    scope_attr = "throttle_scope"

    def __init__(self) -> None:
        # The rate depends on the view: it is looked up in allow_request.
        pass

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PasswordResetEmailThrottle(RateThrottle):
    """POST /api/auth/password-reset/ per email asked for (THROTTLE_RATE_PASSWORD_RESET_EMAIL),
    whoever asks: bounds the emails one inbox receives. The same answer (429) for registered
    and unknown emails, so it tells nothing about either. Counted under a digest of the
    normalised email, never the email itself; a request without an email is left to the
    serializer."""

    scope = "password_reset_email"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}


class UserThrottle(ClientAddressThrottle):
    """A rate per signed-in user, named by the view's `user_throttle_scope`; anonymous
    requests are not limited by it."""

    scope_attr = "user_throttle_scope"

    def allow_request(self, request: Request, view: APIView) -> bool:
        if not request.user.is_authenticated:
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
