"""Product images fetched by URL for catalog imports, against server-side request forgery.

fetch_image(url) downloads one image and returns check_image_file's clean, re-encoded copy.
Every failure is an ImageFetchError whose message fits one row of an import report; no
other exception leaves fetch_image.

The rules, each checked again on every redirect:
- the URL is http or https, with a host, without user name or password, at most
  MAX_URL_LENGTH characters;
- the host is resolved here, and every address it resolves to must be public
  (ipaddress `is_global`, neither multicast nor reserved, also for the IPv4 address inside
  an IPv4-mapped, 6to4 or Teredo IPv6 address) or inside
  settings.OUTBOUND_HTTP_ALLOWED_NETWORKS (CIDR strings);
- the connection goes to a checked address, never through a second lookup (DNS
  rebinding), with the URL's host in the Host header and, for https, as the TLS server
  name and the name the certificate must match (the system's trusted CAs);
- redirects (301, 302, 303, 307, 308) are followed here, at most
  settings.IMPORT_IMAGE_MAX_REDIRECTS of them; any other answer than 200 is refused;
- the whole fetch, redirects and body included, takes at most
  settings.IMPORT_IMAGE_TIMEOUT_SECONDS seconds (name lookups aside: getaddrinfo keeps the
  system resolver's own timeouts);
- the body is at most settings.PRODUCT_IMAGE_MAX_BYTES bytes, refused as soon as its
  Content-Length or the bytes read so far say more.
No proxy, cookie or credential is ever used. HTTP itself is urllib3's (connection level:
no pool, no retries, no automatic redirects).
"""

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
import urllib.parse
from http.client import HTTPException
from ipaddress import IPv4Address, IPv6Address
from typing import NamedTuple

import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

from storefront.catalog.services import check_image_file

MAX_URL_LENGTH = 2048
USER_AGENT = "Storefront-importer/1 (+catalog import)"
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Bytes asked of the socket at a time while streaming the body.
CHUNK_BYTES = 64 * 1024

Address = IPv4Address | IPv6Address


class ImageFetchError(Exception):
    """An image could not be fetched; str() is a one-line message for the import report."""


def fetch_image(url: str) -> ContentFile:
    """Download the image at `url` (http or https) and return a clean copy of it.

    The copy is storefront.catalog.services.check_image_file's: verified (format, bytes,
    pixels, decoding completely) and encoded again, a ContentFile named "<random>.<ext>".
    Reads settings.IMPORT_IMAGE_TIMEOUT_SECONDS (seconds, the whole fetch),
    IMPORT_IMAGE_MAX_REDIRECTS, OUTBOUND_HTTP_ALLOWED_NETWORKS and PRODUCT_IMAGE_MAX_BYTES
    (bytes); the rules are in this module's docstring.

    Raises ImageFetchError, and nothing else, on any failure: a refused URL or address, a
    network, TLS or timeout error, an answer other than 200, a body too large, or a file
    check_image_file refuses.
    """
    try:
        content = _download(url)
        upload = SimpleUploadedFile("image", content)
        try:
            return check_image_file(upload)
        except ValidationError as exc:
            message = " ".join(exc.messages)
            raise ImageFetchError(f"The image at {_shown(url)} was refused: {message}") from exc
    except ImageFetchError:
        raise
    # A last line, so that an import row fails and the import goes on whatever happens.
    except Exception as exc:
        raise ImageFetchError(f"The image at {_shown(url)} could not be fetched.") from exc


def resolve_host(host: str, port: int) -> list[Address]:
    """Return the addresses `host` resolves to for TCP `port`, all of them fetchable.

    Raises ImageFetchError if the name does not resolve or if any of its addresses is not
    is_fetchable_address (one bad address refuses the host: a lookup may pick any of them).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ImageFetchError(f"The image host {host} could not be resolved.") from exc
    addresses: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not is_fetchable_address(address):
            if address == _literal_address(host):
                raise ImageFetchError(f"The image host {host} is not a public address.")
            raise ImageFetchError(
                f"The image host {host} resolves to {address}, which is not a public address."
            )
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ImageFetchError(f"The image host {host} could not be resolved.")
    return addresses


def _literal_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_fetchable_address(address: Address | str) -> bool:
    """Whether an image may be fetched from `address` (an IP address, not a name).

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


class _Target:
    """A URL that passed the checks on its form: where to connect and what to send."""

    def __init__(self, url: str):
        self.url = url
        if len(url) > MAX_URL_LENGTH:
            raise ImageFetchError(
                f"The image URL is longer than the {MAX_URL_LENGTH} characters allowed."
            )
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
            raise ImageFetchError("The image URL contains control characters.")
        try:
            parts = urllib.parse.urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ImageFetchError("The image URL is not a valid URL.") from exc
        self.scheme = parts.scheme.lower()
        if self.scheme not in DEFAULT_PORTS:
            shown = f", not {self.scheme}" if self.scheme.isalnum() else ""
            raise ImageFetchError(f"The image URL must be an http or https URL{shown}.")
        if "@" in parts.netloc:
            raise ImageFetchError("The image URL must not contain a user name or password.")
        if not parts.hostname:
            raise ImageFetchError("The image URL has no host.")
        if port == 0:
            raise ImageFetchError("The image URL has no valid port.")
        try:
            # The name as DNS and the Host header know it (IDNA for non-ASCII names).
            self.host = parts.hostname.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ImageFetchError("The image URL's host is not a valid name.") from exc
        self.port = port or DEFAULT_PORTS[self.scheme]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = host if port in (None, DEFAULT_PORTS[self.scheme]) else f"{host}:{port}"
        # Spaces and non-ASCII characters are sent percent-encoded; existing escapes stay.
        safe = "/%:@!$&'()*+,;=-._~"
        self.path = urllib.parse.quote(parts.path or "/", safe=safe)
        if parts.query:
            self.path += "?" + urllib.parse.quote(parts.query, safe=safe + "?")


class _Deadline:
    """The end of the whole fetch; `expired` is set once a watchdog has cut a fetch off."""

    def __init__(self, seconds: float, url: str):
        self.seconds = seconds
        self.url = url
        self.end = time.monotonic() + seconds
        self.expired = threading.Event()

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0 or self.expired.is_set():
            raise self.error()
        return left

    def error(self) -> ImageFetchError:
        return ImageFetchError(
            f"The image at {self.url} took longer than the {self.seconds:g} seconds allowed."
        )


class _Watchdog:
    """Shuts a connection's socket down at the deadline, so that a blocked read returns.

    Socket timeouts bound each wait for the network, not their sum: a server trickling a
    byte at a time would never trip them.
    """

    def __init__(self, connection: HTTPConnection, deadline: _Deadline):
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


def _download(url: str) -> bytes:
    """Return the body of the 200 answer at the end of `url`'s redirects; raise
    ImageFetchError."""
    if not isinstance(url, str):
        raise ImageFetchError("The image URL is not a valid URL.")
    url = original = url.strip()
    if not url:
        raise ImageFetchError("The image URL is empty.")
    deadline = _Deadline(settings.IMPORT_IMAGE_TIMEOUT_SECONDS, _shown(url))
    max_redirects = settings.IMPORT_IMAGE_MAX_REDIRECTS
    redirects = 0
    while True:
        target = _Target(url)
        addresses = resolve_host(target.host, target.port)
        for address in addresses[:-1]:
            try:
                answer = _get(target, address, deadline)
                break
            except NewConnectionError:
                continue  # As a browser does: the next address of the host.
        else:
            try:
                answer = _get(target, addresses[-1], deadline)
            except NewConnectionError as exc:
                raise ImageFetchError(
                    f"Could not connect to the image host of {_shown(url)}."
                ) from exc
        if answer.location is None:
            return answer.body
        if redirects == max_redirects:
            raise ImageFetchError(f"{_shown(original)} redirected more than {max_redirects} times.")
        redirects += 1
        url = urllib.parse.urljoin(url, answer.location)


class _Answer(NamedTuple):
    location: str | None  # Where a redirect points; None for the 200 answer.
    body: bytes = b""


def _get(target: _Target, address: Address, deadline: _Deadline) -> _Answer:
    """GET `target` from `address`; raise NewConnectionError if it refuses the connection,
    ImageFetchError on any other failure."""
    url = _shown(target.url)
    connection = _connection(target, address, deadline)
    try:
        with _Watchdog(connection, deadline) as watchdog:
            connection.connect()
            watchdog.sock = connection.sock
            return _exchange(connection, target, deadline)
    except (ImageFetchError, NewConnectionError):
        raise
    except Exception as exc:
        if deadline.expired.is_set() or isinstance(
            exc, ConnectTimeoutError | ReadTimeoutError | TimeoutError
        ):
            raise deadline.error() from exc
        if isinstance(exc, ssl.SSLCertVerificationError):
            raise ImageFetchError(
                f"The TLS certificate of {target.host} could not be verified."
            ) from exc
        if isinstance(exc, ssl.SSLError | urllib3.exceptions.SSLError):
            raise ImageFetchError(f"The TLS connection to {target.host} failed.") from exc
        if isinstance(exc, HTTPException | urllib3.exceptions.HTTPError):
            raise ImageFetchError(f"{url} sent an incomplete or broken answer.") from exc
        if isinstance(exc, OSError):
            raise ImageFetchError(f"The connection to the image host of {url} failed.") from exc
        raise
    finally:
        connection.close()


def _connection(target: _Target, address: Address, deadline: _Deadline) -> HTTPConnection:
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


def _exchange(connection: HTTPConnection, target: _Target, deadline: _Deadline) -> _Answer:
    url = _shown(target.url)
    connection.timeout = deadline.remaining()
    connection.request(
        "GET",
        target.path,
        headers={
            "Host": target.host_header,
            "User-Agent": USER_AGENT,
            "Accept": "image/*",
            "Accept-Encoding": "identity",
            "Connection": "close",
        },
        preload_content=False,
        decode_content=False,
    )
    response = connection.getresponse()
    try:
        return _read_answer(response, url, deadline)
    finally:
        # Also closes the socket: the answer holds it after http.client let go of it.
        response.close()


def _read_answer(response: urllib3.BaseHTTPResponse, url: str, deadline: _Deadline) -> _Answer:
    if response.status in REDIRECT_STATUSES:
        location = response.headers.get("Location")
        if not location:
            raise ImageFetchError(f"{url} answered {response.status} without a Location.")
        return _Answer(location)
    if response.status != 200:
        raise ImageFetchError(f"{url} answered {response.status}.")
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding != "identity":
        raise ImageFetchError(f"{url} sent an encoded body ({_shown(encoding[:20])}).")
    max_bytes = settings.PRODUCT_IMAGE_MAX_BYTES
    too_large = ImageFetchError(f"The image at {url} is larger than the {max_bytes} bytes allowed.")
    length = response.headers.get("Content-Length", "").strip()
    if length.isdigit() and int(length) > max_bytes:
        raise too_large
    body = bytearray()
    while True:
        deadline.remaining()
        # One read of the socket at a time, never more than one byte past the limit.
        chunk = response.read1(min(CHUNK_BYTES, max_bytes + 1 - len(body)))
        if not chunk:
            break
        body += chunk
        if len(body) > max_bytes:
            raise too_large
    # The watchdog's shutdown ends a body without Content-Length like a complete one.
    deadline.remaining()
    return _Answer(None, bytes(body))


def _shown(url: object) -> str:
    """`url` fit for a one-line message: printable, not too long."""
    text = url if isinstance(url, str) else repr(url)
    text = "".join(c if c.isprintable() else "?" for c in text.strip())
    return text if len(text) <= 200 else text[:200] + "..."
