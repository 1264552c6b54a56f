"""The client's IP address: the one answer for every throttle and for django-axes.

Throttles (storefront.core.api.throttling) and login lockouts (AXES_CLIENT_IP_CALLABLE) both
call `client_address`, so a client is counted under one address everywhere.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The IP address of the client that sent `request`, normalised (e.g. "203.0.113.7").

    settings.NUM_PROXIES says how many reverse proxies stand in front of the application,
    each appending the address it received the request from to X-Forwarded-For. With 0 (the
    default; None counts as 0) the answer is the socket's address, REMOTE_ADDR, and
    X-Forwarded-For is ignored: a client cannot pick its own address by sending the header.
    With N, it is the N-th address from the right of X-Forwarded-For, the one the outermost
    proxy saw; whatever the client wrote further left is ignored. A header with fewer than N
    entries gives its left-most one, as Django REST framework's own NUM_PROXIES does.

    An entry that is not an IP address (a misconfigured proxy) gives REMOTE_ADDR instead.
    None only if the request has no REMOTE_ADDR (never under gunicorn or runserver).
    """
    remote_addr = request.META.get("REMOTE_ADDR")
    num_proxies = settings.NUM_PROXIES or 0
    forwarded_for = request.META.get("HTTP_X_FORWARDED_FOR")
    candidate = remote_addr
    if num_proxies > 0 and forwarded_for:
        entries = forwarded_for.split(",")
        candidate = entries[-min(num_proxies, len(entries))]
    return _normalised(candidate) or _normalised(remote_addr)


def _normalised(address: str | None) -> str | None:
    # One spelling per address, so that "::1" and "0:0::1" share a throttle and a lockout.
    try:
        return str(ipaddress.ip_address((address or "").strip()))
    except ValueError:
        return None
