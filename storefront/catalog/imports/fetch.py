"""Product images fetched by URL for catalog imports, against server-side request forgery.

fetch_image(url) downloads one image and returns check_image_file's clean, re-encoded copy.
Every failure is an ImageFetchError whose message fits one row of an import report; no
other exception leaves fetch_image.

The rules, each checked again on every redirect:
- the URL is http or https, with a host, without user name or password, at most
  http.MAX_URL_LENGTH (2048) characters;
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
No proxy, cookie or credential is ever used. The client is storefront/core/http.py's `get`,
the one HTTP client of every outgoing call (webhook deliveries use its `post`).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from storefront.catalog.services import check_image_file
from storefront.core import http
from storefront.core.http import Address, is_allowed_address

USER_AGENT = "Storefront-importer/1 (+catalog import)"
# The word of the client's messages: "The image host 10.0.0.1 is not a public address."
NOUN = "image"

# An image may be fetched from exactly the addresses any outgoing call may reach.
is_fetchable_address = is_allowed_address


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
            raise ImageFetchError(f"The image at {http.shown(url)} was refused: {message}") from exc
    except ImageFetchError:
        raise
    # A last line, so that an import row fails and the import goes on whatever happens.
    except Exception as exc:
        raise ImageFetchError(f"The image at {http.shown(url)} could not be fetched.") from exc


def resolve_host(host: str, port: int) -> list[Address]:
    """Return the addresses `host` resolves to for TCP `port`, all of them fetchable.

    Raises ImageFetchError if the name does not resolve or if any of its addresses is not
    is_fetchable_address (one bad address refuses the host: a lookup may pick any of them).
    """
    try:
        return http.resolve_host(host, port, noun=NOUN)
    except http.OutboundRequestError as exc:
        raise ImageFetchError(str(exc)) from exc


def _download(url: str) -> bytes:
    """Return the body of the 200 answer at the end of `url`'s redirects; raise
    ImageFetchError."""
    try:
        return http.get(
            url,
            noun=NOUN,
            timeout=settings.IMPORT_IMAGE_TIMEOUT_SECONDS,
            max_bytes=settings.PRODUCT_IMAGE_MAX_BYTES,
            max_redirects=settings.IMPORT_IMAGE_MAX_REDIRECTS,
            headers={"User-Agent": USER_AGENT, "Accept": "image/*"},
        )
    except http.OutboundRequestError as exc:
        raise ImageFetchError(str(exc)) from exc
