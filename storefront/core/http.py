"""The one HTTP client of every outgoing call (import images, webhook deliveries), hardened
against server-side request forgery and against servers that are slow or say too much.

`get` fetches a resource (following redirects, each checked again); `post` sends one request
and returns the answer, whatever its status, never following a redirect. Both raise
OutboundRequestError, whose message fits one line of a report or log, on any failure, and
AddressRefused (a subclass) for a URL or address refused before any connection is made.

The rules:
- the URL is http or https, with a host, without user name or password, at most
  MAX_URL_LENGTH characters, without control characters;
- the host is resolved here, and every address it resolves to must be public
  (ipaddress `is_global`, neither multicast nor reserved, also for the IPv4 address inside
  an IPv4-mapped, 6to4 or Teredo IPv6 address) or inside
  settings.OUTBOUND_HTTP_ALLOWED_NETWORKS (CIDR strings);
- the connection goes to a checked address, never through a second lookup (DNS
  rebinding), with the URL's host in the Host header and, for https, as the TLS server
  name and the name the certificate must match (the system's trusted CAs);
- the whole exchange (for `get`, its redirects included) takes at most the `timeout`
  given, in seconds: socket timeouts bound each wait, and a watchdog shuts the socket down
  at the deadline, so that a server trickling a byte at a time is cut off too (name
  lookups aside: getaddrinfo keeps the system resolver's own timeouts);
- the body read is at most the `max_bytes` given.
No proxy, cookie or credential is ever used. HTTP itself is urllib3's (connection level: no
pool, no retries, no automatic redirects).

Each message names what is fetched or called (`noun`: "image", "webhook"), e.g. "The
webhook host 10.0.0.1 is not a public address."
"""

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from http.client import HTTPException
from ipaddress import IPv4Address, IPv6Address
from typing import NamedTuple, TypeVar

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Bytes asked of the socket at a time while streaming a body.
CHUNK_BYTES = 64 * 1024

Address = IPv4Address | IPv6Address
T = TypeVar("T")


class OutboundRequestError(Exception):
    """An outgoing request failed; str() is a one-line message (no body, no secret)."""


class AddressRefused(OutboundRequestError):
    """The URL or an address of its host is refused: nothing was connected to."""


class Response(NamedTuple):
    """A server's answer: `body` holds at most the `max_bytes` asked for; `truncated` says
    whether the server sent more (post only: get refuses a body over its limit)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    truncated: bool = False


# --- Addresses -------------------------------------------------------------------------------


def is_allowed_address(address: Address | str) -> bool:
    """Whether an outgoing call may go to `address` (an IP address, not a name).

    True for a public address, and for one inside settings.OUTBOUND_HTTP_ALLOWED_NETWORKS.
    An IPv4-mapped IPv6 address is judged as its IPv4 address; a 6to4 or Teredo address
    must be public and so must the IPv4 address it carries. NAT64 (64:ff9b::/96) is
    refused as reserved. Raises ValueError if `address` is not an IP address.
    """
    address = ipaddress.ip_address(address)
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    networks = [
        ipaddress.ip_network(n, strict=False) for n in settings.OUTBOUND_HTTP_ALLOWED_NETWORKS
    ]
    if any(address in network for network in networks):
        return True
    return all(_is_public(inner) for inner in [address, *_carried_ipv4(address)])


def _is_public(address: Address) -> bool:
    # is_global alone lets multicast through (224.0.0.0/4, ff00::/8 in Python 3.11);
    # is_reserved also covers NAT64's 64:ff9b::/96 (inside ::/8), whose IPv4 may be private.
    return address.is_global and not (address.is_multicast or address.is_reserved)


def _carried_ipv4(address: Address) -> list[IPv4Address]:
    if isinstance(address, IPv4Address):
        return []
    carried = [address.sixtofour] if address.sixtofour is not None else []
    if address.teredo is not None:
        carried.extend(address.teredo)
    return carried


def resolve_host(host: str, port: int, *, noun: str) -> list[Address]:
    """Return the addresses `host` resolves to for TCP `port`, all of them allowed.

    Raises AddressRefused if the name does not resolve or if any of its addresses is not
    is_allowed_address (one bad address refuses the host: a lookup may pick any of them).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise AddressRefused(f"The {noun} host {host} could not be resolved.") from exc
    addresses: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not is_allowed_address(address):
            if address == _literal_address(host):
                raise AddressRefused(f"The {noun} host {host} is not a public address.")
            raise AddressRefused(
                f"The {noun} host {host} resolves to {address}, which is not a public address."
            )
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise AddressRefused(f"The {noun} host {host} could not be resolved.")
    return addresses


def _literal_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


# --- URLs ------------------------------------------------------------------------------------


class Target:
    """A URL that passed the checks on its form: where to connect and what to send.

    Raises AddressRefused for a URL refused by its form (check_url).
    """

    def __init__(self, url: object, *, noun: str):
        if not isinstance(url, str):
            raise AddressRefused(f"The {noun} URL is not a valid URL.")
        self.url = url
        if len(url) > MAX_URL_LENGTH:
            raise AddressRefused(
                f"The {noun} URL is longer than the {MAX_URL_LENGTH} characters allowed."
            )
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
            raise AddressRefused(f"The {noun} URL contains control characters.")
        try:
            parts = urllib.parse.urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise AddressRefused(f"The {noun} URL is not a valid URL.") from exc
        self.scheme = parts.scheme.lower()
        if self.scheme not in DEFAULT_PORTS:
            shown = f", not {self.scheme}" if self.scheme.isalnum() else ""
            raise AddressRefused(f"The {noun} URL must be an http or https URL{shown}.")
        if "@" in parts.netloc:
            raise AddressRefused(f"The {noun} URL must not contain a user name or password.")
        if not parts.hostname:
            raise AddressRefused(f"The {noun} URL has no host.")
        if port == 0:
            raise AddressRefused(f"The {noun} URL has no valid port.")
        try:
            # The name as DNS and the Host header know it (IDNA for non-ASCII names).
            self.host = parts.hostname.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise AddressRefused(f"The {noun} URL's host is not a valid name.") from exc
        self.port = port or DEFAULT_PORTS[self.scheme]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = host if port in (None, DEFAULT_PORTS[self.scheme]) else f"{host}:{port}"
        # Spaces and non-ASCII characters are sent percent-encoded; existing escapes stay.
        safe = "/%:@!$&'()*+,;=-._~"
        self.path = urllib.parse.quote(parts.path or "/", safe=safe)
        if parts.query:
            self.path += "?" + urllib.parse.quote(parts.query, safe=safe + "?")


def check_url(url: object, *, noun: str) -> None:
    """Raise AddressRefused if `url` is refused by its form alone (the rules above: scheme,
    host, user name, length, control characters); its addresses are checked at each call."""
    Target(url, noun=noun)


# --- Time ------------------------------------------------------------------------------------


class Deadline:
    """The end of a whole exchange; `expired` is set once a watchdog has cut one off."""

    def __init__(self, seconds: float, message: str):
        self.seconds = seconds
        self.message = message
        self.end = time.monotonic() + seconds
        self.expired = threading.Event()

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0 or self.expired.is_set():
            raise self.error()
        return left

    def error(self) -> OutboundRequestError:
        return OutboundRequestError(self.message)


class _Watchdog:
    """Shuts a connection's socket down at the deadline, so that a blocked read returns.

    Socket timeouts bound each wait for the network, not their sum: a server trickling a
    byte at a time would never trip them.
    """

    def __init__(self, connection: HTTPConnection, deadline: Deadline):
        self.connection = connection
        self.deadline = deadline
        # Set once connected: http.client forgets connection.sock when the answer closes
        # the connection, while the answer still reads from that socket.
        self.sock: socket.socket | None = None
        self.timer = threading.Timer(deadline.remaining(), self.cut_off)
        self.timer.daemon = True

    def __enter__(self) -> "_Watchdog":
        self.timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.timer.cancel()

    def cut_off(self) -> None:
        self.deadline.expired.set()
        sock = self.sock or self.connection.sock
        if sock is not None:
            # The plain socket's shutdown, also under TLS: it stops a read in progress
            # without touching the TLS state that the reading thread is using.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


# --- Requests --------------------------------------------------------------------------------


def get(
    url: str,
    *,
    noun: str,
    timeout: float,
    max_bytes: int,
    max_redirects: int,
    headers: Mapping[str, str],
) -> bytes:
    """GET `url` and return the body of the 200 answer at the end of its redirects (301,
    302, 303, 307, 308: at most `max_redirects`, each target checked as `url` is).

    `timeout`: seconds for the whole fetch, redirects included; `max_bytes`: the largest
    body taken, refused as soon as its Content-Length or the bytes read so far say more;
    an encoded body (Content-Encoding other than identity) is refused. `headers` are sent
    with Host, Accept-Encoding and Connection set here. Raises OutboundRequestError
    (AddressRefused for a refused URL or address) on any failure or another status.
    """
    if not isinstance(url, str):
        raise AddressRefused(f"The {noun} URL is not a valid URL.")
    url = original = url.strip()
    if not url:
        raise AddressRefused(f"The {noun} URL is empty.")
    deadline = Deadline(
        timeout, f"The {noun} at {shown(url)} took longer than the {timeout:g} seconds allowed."
    )
    redirects = 0
    while True:
        target = Target(url, noun=noun)
        answer = _call(
            target,
            deadline,
            noun,
            lambda connection, target=target: _get_exchange(
                connection, target, deadline, noun, max_bytes, headers
            ),
        )
        if answer.status not in REDIRECT_STATUSES:
            return answer.body
        if redirects == max_redirects:
            raise OutboundRequestError(
                f"{shown(original)} redirected more than {max_redirects} times."
            )
        redirects += 1
        url = urllib.parse.urljoin(url, answer.headers["Location"])


def post(
    url: str,
    *,
    noun: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
    max_bytes: int,
) -> Response:
    """POST `body` to `url` once and return the answer, whatever its status: a redirect is
    returned, never followed (the caller decides what a status means).

    `timeout`: seconds for the whole exchange (connect, send, answer); `max_bytes`: the
    most of the answer's body read (the rest is left unread and the connection closed:
    Response.truncated). `headers` are sent with Host, Content-Length, Accept-Encoding and
    Connection set here. Raises OutboundRequestError (AddressRefused for a refused URL or
    address: nothing was sent) on a network, TLS or timeout failure.
    """
    target = Target(url.strip() if isinstance(url, str) else url, noun=noun)
    deadline = Deadline(
        timeout,
        f"The {noun} at {shown(target.url)} took longer than the {timeout:g} seconds allowed.",
    )
    return _call(
        target,
        deadline,
        noun,
        lambda connection: _post_exchange(connection, target, deadline, body, max_bytes, headers),
    )


def _call(
    target: Target,
    deadline: Deadline,
    noun: str,
    exchange: Callable[[HTTPConnection], T],
) -> T:
    """Resolve and check the target's host, then run `exchange` on a connection to its
    first address that takes one (as a browser does: the next one when refused)."""
    addresses = resolve_host(target.host, target.port, noun=noun)
    for address in addresses[:-1]:
        with contextlib.suppress(NewConnectionError):
            return _connected(target, address, deadline, noun, exchange)
    try:
        return _connected(target, addresses[-1], deadline, noun, exchange)
    except NewConnectionError as exc:
        raise OutboundRequestError(
            f"Could not connect to the {noun} host of {shown(target.url)}."
        ) from exc


def _connected(
    target: Target,
    address: Address,
    deadline: Deadline,
    noun: str,
    exchange: Callable[[HTTPConnection], T],
) -> T:
    """Run `exchange` on a connection to `address`; raise NewConnectionError if it refuses
    the connection, OutboundRequestError on any other failure."""
    url = shown(target.url)
    connection = _connection(target, address, deadline)
    try:
        with _Watchdog(connection, deadline) as watchdog:
            connection.connect()
            watchdog.sock = connection.sock
            connection.timeout = deadline.remaining()
            return exchange(connection)
    except (OutboundRequestError, NewConnectionError):
        raise
    except Exception as exc:
        if deadline.expired.is_set() or isinstance(
            exc, ConnectTimeoutError | ReadTimeoutError | TimeoutError
        ):
            raise deadline.error() from exc
        if isinstance(exc, ssl.SSLCertVerificationError):
            raise OutboundRequestError(
                f"The TLS certificate of {target.host} could not be verified."
            ) from exc
        if isinstance(exc, ssl.SSLError | urllib3.exceptions.SSLError):
            raise OutboundRequestError(f"The TLS connection to {target.host} failed.") from exc
        if isinstance(exc, HTTPException | urllib3.exceptions.HTTPError):
            raise OutboundRequestError(f"{url} sent an incomplete or broken answer.") from exc
        if isinstance(exc, OSError):
            raise OutboundRequestError(
                f"The connection to the {noun} host of {url} failed."
            ) from exc
        raise
    finally:
        connection.close()


def _connection(target: Target, address: Address, deadline: Deadline) -> HTTPConnection:
    timeout = deadline.remaining()
    if target.scheme == "http":
        return HTTPConnection(str(address), target.port, timeout=timeout)
    # No ca_certs: the system's trusted CAs (OpenSSL's default paths, SSL_CERT_FILE).
    # server_hostname is both the SNI and the name ssl checks the certificate against.
    return HTTPSConnection(
        str(address),
        target.port,
        timeout=timeout,
        cert_reqs="CERT_REQUIRED",
        server_hostname=target.host,
    )


def _request_headers(target: Target, headers: Mapping[str, str]) -> dict[str, str]:
    return {
        **headers,
        "Host": target.host_header,
        "Accept-Encoding": "identity",
        "Connection": "close",
    }


def _get_exchange(
    connection: HTTPConnection,
    target: Target,
    deadline: Deadline,
    noun: str,
    max_bytes: int,
    headers: Mapping[str, str],
) -> Response:
    url = shown(target.url)
    connection.request(
        "GET",
        target.path,
        headers=_request_headers(target, headers),
        preload_content=False,
        decode_content=False,
    )
    response = connection.getresponse()
    try:
        if response.status in REDIRECT_STATUSES:
            location = response.headers.get("Location")
            if not location:
                raise OutboundRequestError(f"{url} answered {response.status} without a Location.")
            return Response(response.status, {"Location": location}, b"")
        if response.status != 200:
            raise OutboundRequestError(f"{url} answered {response.status}.")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding != "identity":
            raise OutboundRequestError(f"{url} sent an encoded body ({shown(encoding[:20])}).")
        too_large = OutboundRequestError(
            f"The {noun} at {url} is larger than the {max_bytes} bytes allowed."
        )
        length = response.headers.get("Content-Length", "").strip()
        if length.isdigit() and int(length) > max_bytes:
            raise too_large
        body, truncated = _read_body(response, deadline, max_bytes)
        if truncated:
            raise too_large
        return Response(response.status, response.headers, body)
    finally:
        # Also closes the socket: the answer holds it after http.client let go of it.
        response.close()


def _post_exchange(
    connection: HTTPConnection,
    target: Target,
    deadline: Deadline,
    body: bytes,
    max_bytes: int,
    headers: Mapping[str, str],
) -> Response:
    connection.request(
        "POST",
        target.path,
        body=body,
        headers={**_request_headers(target, headers), "Content-Length": str(len(body))},
        preload_content=False,
        decode_content=False,
    )
    response = connection.getresponse()
    try:
        content, truncated = _read_body(response, deadline, max_bytes)
        return Response(response.status, dict(response.headers), content, truncated)
    finally:
        response.close()


def _read_body(
    response: urllib3.BaseHTTPResponse, deadline: Deadline, max_bytes: int
) -> tuple[bytes, bool]:
    """At most `max_bytes` of the body, and whether there was more (one byte more read)."""
    body = bytearray()
    while True:
        deadline.remaining()
        # One read of the socket at a time, never more than one byte past the limit.
        chunk = response.read1(min(CHUNK_BYTES, max_bytes + 1 - len(body)))
        if not chunk:
            break
        body += chunk
        if len(body) > max_bytes:
            return bytes(body[:max_bytes]), True
    # The watchdog's shutdown ends a body without Content-Length like a complete one.
    deadline.remaining()
    return bytes(body), False


def shown(url: object) -> str:
    """`url` fit for a one-line message: printable, not too long."""
    text = url if isinstance(url, str) else repr(url)
    text = "".join(c if c.isprintable() else "?" for c in text.strip())
    return text if len(text) <= 200 else text[:200] + "..."
