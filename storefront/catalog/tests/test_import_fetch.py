"""fetch_image against a real HTTP(S) server on loopback: what it returns, and each rule
against server-side request forgery (storefront/catalog/imports/fetch.py)."""

import contextlib
import io
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from storefront.catalog.imports.fetch import (
    USER_AGENT,
    ImageFetchError,
    fetch_image,
    is_fetchable_address,
    resolve_host,
)
from storefront.catalog.tests.image_files import HTML, image_bytes, noisy_png, png_with_text

PNG = image_bytes("PNG")
SECRET = b"internal error page: db password hunter2"


class Handler(BaseHTTPRequestHandler):
    """The routes of ImageServer; HTTP/1.0, so a body without Content-Length ends at close."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append((self.path, dict(self.headers)))
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        name = parts.path.strip("/").replace("-", "_").replace(".", "_")
        route = getattr(self, "route_" + name, None)
        if route is None:
            self.answer(404, SECRET, "text/plain")
        else:
            route(**query)

    def answer(self, status: int, body: bytes, content_type: str = "image/png", **headers):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", headers.pop("length", str(len(body))))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str, status: int = 302) -> None:
        self.answer(status, b"", "text/plain", Location=location, Set_Cookie="session=1")

    def route_image_png(self) -> None:
        self.answer(200, self.server.image)

    def route_hop(self, left: str, status: str = "302") -> None:
        """A chain of redirects: `left` more before the image."""
        left = int(left)
        self.redirect(f"/hop?left={left - 1}" if left else "image.png", int(status))

    def route_to(self, location: str) -> None:
        self.redirect(location)

    def route_no_location(self) -> None:
        self.answer(302, b"", "text/plain")

    def route_text(self) -> None:
        self.answer(200, HTML, "image/png")

    def route_truncated_png(self) -> None:
        self.answer(200, PNG[: len(PNG) // 2])

    def route_gzip(self) -> None:
        self.answer(200, PNG, Content_Encoding="gzip")

    def route_short_length(self) -> None:
        """Content-Length says less than is sent: only that much is the answer."""
        self.answer(200, PNG, length=str(len(PNG) // 2))

    def route_long_length(self) -> None:
        """Content-Length says more than is sent before the connection closes."""
        self.answer(200, PNG, length=str(len(PNG) + 100))

    def route_huge_length(self) -> None:
        """Content-Length announces a terabyte, then the body trickles."""
        self.send_response(200)
        self.send_header("Content-Length", str(10**12))
        self.end_headers()
        self.trickle(b"x" * 1024, every=0.5)

    def route_endless(self) -> None:
        """No Content-Length, and a body that never ends."""
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.trickle(b"x" * 65536, every=0)

    def route_slow_body(self) -> None:
        """Headers at once, then a byte every 0.1 s: no single read waits long."""
        self.send_response(200)
        self.end_headers()
        self.trickle(b"x", every=0.1)

    def route_pause_body(self) -> None:
        """Headers and a first byte at once, another byte after 0.8 s, then silence."""
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"x")
        self.wfile.flush()
        time.sleep(0.8)
        self.trickle(b"x", every=10)

    def route_slow_headers(self) -> None:
        self.trickle(b"HTTP/1.0 200 OK\r\nX-Padding: " + b"x" * 100, every=0.1, one_byte=True)

    def trickle(self, data: bytes, every: float, one_byte: bool = False) -> None:
        """Send `data` (a byte at a time if `one_byte`) again and again for at most 10 s,
        until the client goes away."""
        end = time.monotonic() + 10
        pieces = [data[i : i + 1] for i in range(len(data))] if one_byte else [data]
        try:
            while time.monotonic() < end:
                for piece in pieces:
                    self.wfile.write(piece)
                    self.wfile.flush()
                    time.sleep(every)
        except OSError:
            self.server.client_left.set()


class ImageServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None):
        super().__init__((host, 0), Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.image = PNG
        self.client_left = threading.Event()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, path: str, host: str | None = None, scheme: str = "http") -> str:
        return f"{scheme}://{host or self.server_address[0]}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


@contextlib.contextmanager
def serve(server: ImageServer):
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server():
    with serve(ImageServer()) as server:
        yield server


def fetch_error(url) -> str:
    with pytest.raises(ImageFetchError) as info:
        fetch_image(url)
    message = str(info.value)
    assert "\n" not in message
    return message


def decoded(content) -> Image.Image:
    content.seek(0)
    image = Image.open(io.BytesIO(content.read()))
    image.load()
    return image


# --- What a fetch returns ------------------------------------------------------------------


def test_fetch_returns_a_clean_copy_of_the_image(server):
    server.image = png_with_text(b"tracking-id-1234")

    content = fetch_image(server.url("/image.png"))

    assert content.name.endswith(".png")
    content.seek(0)
    data = content.read()
    assert b"tracking-id-1234" not in data  # Re-encoded by check_image_file.
    assert (decoded(content).format, decoded(content).size) == ("PNG", (16, 8))


def test_fetch_connects_to_the_resolved_address_with_the_urls_host(server, monkeypatch):
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def recording_getaddrinfo(host, *args, **kwargs):
        lookups.append(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)

    fetch_image(server.url("/image.png", host="localhost"))

    # One lookup of the name; the connection itself only "resolves" the checked IP literal.
    assert lookups.count("localhost") == 1
    assert set(lookups) <= {"localhost", "127.0.0.1", "::1"}
    ((_, headers),) = server.requests
    assert headers["Host"] == f"localhost:{server.port}"
    assert headers["User-Agent"] == USER_AGENT
    assert not {"Cookie", "Authorization", "Proxy-Authorization"} & set(headers)


def test_fetch_ignores_proxies_from_the_environment(server, monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9/")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    fetch_image(server.url("/image.png"))

    assert server.paths == ["/image.png"]


def test_fetch_percent_encodes_spaces_and_non_ascii_in_the_path(server):
    fetch_error(server.url("/dir/café photo.png?q=a b"))

    assert server.paths == ["/dir/caf%C3%A9%20photo.png?q=a%20b"]


# --- Redirects ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["301", "302", "303", "307", "308"])
def test_fetch_follows_redirects_up_to_the_limit(server, settings, status):
    settings.IMPORT_IMAGE_MAX_REDIRECTS = 3

    content = fetch_image(server.url(f"/hop?left=2&status={status}"))

    assert decoded(content).size == (16, 8)
    assert server.paths == [
        f"/hop?left=2&status={status}",
        "/hop?left=1",
        "/hop?left=0",
        "/image.png",
    ]


def test_fetch_refuses_more_redirects_than_the_limit(server, settings):
    settings.IMPORT_IMAGE_MAX_REDIRECTS = 3

    message = fetch_error(server.url("/hop?left=3"))

    assert message == f"{server.url('/hop?left=3')} redirected more than 3 times."
    assert server.paths == ["/hop?left=3", "/hop?left=2", "/hop?left=1", "/hop?left=0"]


def test_fetch_sends_no_cookie_set_by_a_redirect(server):
    fetch_image(server.url("/hop?left=1"))

    assert len(server.requests) == 3
    assert all("Cookie" not in headers for _, headers in server.requests)


def test_redirect_without_location_is_refused(server):
    assert fetch_error(server.url("/no-location")) == (
        f"{server.url('/no-location')} answered 302 without a Location."
    )


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("http://10.0.0.1/", "The image host 10.0.0.1 is not a public address."),
        (
            "http://169.254.169.254/latest/meta-data/",
            "The image host 169.254.169.254 is not a public address.",
        ),
        ("http://[::ffff:10.0.0.1]/", "The image host ::ffff:10.0.0.1 is not a public address."),
        ("file:///etc/passwd", "The image URL must be an http or https URL, not file."),
        ("gopher://127.0.0.1:70/", "The image URL must be an http or https URL, not gopher."),
        ("http://u:p@127.0.0.1/", "The image URL must not contain a user name or password."),
    ],
)
def test_redirect_target_is_checked_like_the_url(server, location, message):
    started = time.monotonic()

    assert fetch_error(server.url("/to?" + urllib.parse.urlencode({"location": location}))) == (
        message
    )
    # Refused before connecting: a connection to 10.0.0.1 would hang for the 20 s allowed.
    assert time.monotonic() - started < 2


def test_redirect_to_a_loopback_address_outside_the_allowed_networks_never_connects(
    server, settings
):
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ("127.0.0.1/32",)
    other = ImageServer(host="127.0.0.2")
    with serve(other):
        message = fetch_error(server.url("/to?location=" + other.url("/image.png")))

        assert message == "The image host 127.0.0.2 is not a public address."
        assert other.requests == []
        assert server.paths == ["/to?location=" + other.url("/image.png")]


# --- Addresses --------------------------------------------------------------------------


def test_loopback_url_is_refused_without_connecting_unless_allowed(server, settings):
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ()

    assert fetch_error(server.url("/image.png")) == (
        "The image host 127.0.0.1 is not a public address."
    )
    assert fetch_error(server.url("/image.png", host="localhost")).startswith(
        "The image host localhost resolves to "
    )
    assert server.requests == []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # Cloud metadata.
        "100.64.0.1",  # Carrier-grade NAT.
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",  # IPv4-mapped.
        "::ffff:169.254.169.254",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1.
        "2002:a00:5::",  # 6to4 of 10.0.0.5.
        "64:ff9b::a00:5",  # NAT64 of 10.0.0.5.
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254.
    ],
)
def test_non_public_addresses_are_refused(settings, address):
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ()

    assert not is_fetchable_address(address)
    with pytest.raises(ImageFetchError, match="is not a public address"):
        resolve_host(address, 80)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_are_fetchable(settings, address):
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ()

    assert is_fetchable_address(address)
    assert resolve_host(address, 80) == [ipaddress.ip_address(address)]


def test_allowed_networks_admit_their_addresses_only(settings):
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ("10.0.0.0/8", "fd00::/8")

    assert is_fetchable_address("10.1.2.3")
    assert is_fetchable_address("::ffff:10.1.2.3")
    assert is_fetchable_address("fd12::1")
    assert not is_fetchable_address("192.168.1.1")
    assert not is_fetchable_address("127.0.0.1")
    assert not is_fetchable_address("fc00::1")


@pytest.mark.parametrize("host", ["localhost", "2130706433", "0x7f.1", "127.1"])
def test_names_and_odd_spellings_of_loopback_are_refused(settings, host):
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ()

    with pytest.raises(
        ImageFetchError, match=r"resolves to (127\.0\.0\.1|::1), which is not a pub"
    ):
        resolve_host(host, 80)


def test_a_host_is_refused_if_any_of_its_addresses_is_not_public(settings, monkeypatch):
    # No DNS offline: the resolver's answer for a name with a public and a private address.
    answers = [("93.184.215.14", 80), ("10.0.0.5", 80)]
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *args, **kwargs: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", answer) for answer in answers
        ],
    )

    with pytest.raises(ImageFetchError) as info:
        resolve_host("images.example.com", 80)

    assert str(info.value) == (
        "The image host images.example.com resolves to 10.0.0.5, which is not a public address."
    )


# --- URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "The image URL must be an http or https URL, not file."),
        ("ftp://127.0.0.1/image.png", "The image URL must be an http or https URL, not ftp."),
        ("gopher://127.0.0.1:70/_GET", "The image URL must be an http or https URL, not gopher."),
        ("javascript:alert(1)", "The image URL must be an http or https URL, not javascript."),
        (
            "data:image/png;base64,iVBORw0KGgo=",
            "The image URL must be an http or https URL, not data.",
        ),
        ("not a url", "The image URL must be an http or https URL."),
        ("//127.0.0.1/image.png", "The image URL must be an http or https URL."),
        ("", "The image URL is empty."),
        (None, "The image URL is not a valid URL."),
        (b"http://127.0.0.1/", "The image URL is not a valid URL."),
        ("http://", "The image URL has no host."),
        ("http:///image.png", "The image URL has no host."),
        ("http://127.0.0.1:99999/", "The image URL is not a valid URL."),
        ("http://127.0.0.1:port/", "The image URL is not a valid URL."),
        ("http://127.0.0.1:0/", "The image URL has no valid port."),
        ("http://[::1/", "The image URL is not a valid URL."),
        ("http://127.0.0.1/a\r\nX-Injected: 1", "The image URL contains control characters."),
        (
            "http://127.0.0.1/" + "a" * 2048,
            "The image URL is longer than the 2048 characters allowed.",
        ),
    ],
)
def test_malformed_and_non_http_urls_are_refused(url, message):
    assert fetch_error(url) == message


@pytest.mark.parametrize("userinfo", ["user:pass@", "user@", ":@", "127.0.0.1\\@"])
def test_urls_with_userinfo_are_refused_without_connecting(server, userinfo):
    url = f"http://{userinfo}127.0.0.1:{server.port}/image.png"

    assert fetch_error(url) == "The image URL must not contain a user name or password."
    assert server.requests == []


def test_unused_port_is_a_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    assert fetch_error(f"http://127.0.0.1:{port}/image.png") == (
        f"Could not connect to the image host of http://127.0.0.1:{port}/image.png."
    )


# --- Answers -------------------------------------------------------------------------------


def test_not_found_names_the_status_and_not_the_body(server):
    message = fetch_error(server.url("/missing.png"))

    assert message == f"{server.url('/missing.png')} answered 404."
    assert "hunter2" not in message


def test_body_of_exactly_the_limit_is_accepted_one_more_byte_is_not(server, settings):
    server.image = noisy_png()
    settings.PRODUCT_IMAGE_MAX_BYTES = len(server.image)

    assert decoded(fetch_image(server.url("/image.png"))).size == (64, 64)

    settings.PRODUCT_IMAGE_MAX_BYTES = len(server.image) - 1
    assert fetch_error(server.url("/image.png")) == (
        f"The image at {server.url('/image.png')} is larger than the "
        f"{len(server.image) - 1} bytes allowed."
    )


def test_content_length_over_the_limit_is_refused_at_once(server):
    started = time.monotonic()

    assert "is larger than the 5242880 bytes allowed" in fetch_error(server.url("/huge-length"))
    assert time.monotonic() - started < 1  # The body trickles: reading it would take longer.


def test_endless_body_is_cut_off_past_the_limit(server, settings):
    settings.PRODUCT_IMAGE_MAX_BYTES = 100_000

    assert "is larger than the 100000 bytes allowed" in fetch_error(server.url("/endless"))
    assert server.client_left.wait(5)


def test_content_length_shorter_than_the_body_gives_a_truncated_image(server):
    message = fetch_error(server.url("/short-length"))

    assert message.startswith(f"The image at {server.url('/short-length')} was refused: ")
    assert "not a valid image" in message


def test_body_shorter_than_its_content_length_is_refused(server):
    assert fetch_error(server.url("/long-length")) == (
        f"{server.url('/long-length')} sent an incomplete or broken answer."
    )


def test_encoded_body_is_refused(server):
    assert fetch_error(server.url("/gzip")) == f"{server.url('/gzip')} sent an encoded body (gzip)."


@pytest.mark.parametrize("path", ["/text", "/truncated-png"])
def test_bytes_that_are_not_a_whole_image_are_refused(server, path):
    assert fetch_error(server.url(path)) == (
        f"The image at {server.url(path)} was refused: "
        "The file is not a valid image (allowed formats: JPEG, PNG, WEBP, GIF)."
    )


@pytest.mark.parametrize("path", ["/slow-body", "/slow-headers"])
def test_a_server_trickling_past_the_time_allowed_is_cut_off(server, settings, path):
    settings.IMPORT_IMAGE_TIMEOUT_SECONDS = 0.5
    started = time.monotonic()

    message = fetch_error(server.url(path))

    assert message == f"The image at {server.url(path)} took longer than the 0.5 seconds allowed."
    assert time.monotonic() - started < 1.5


def test_a_read_waiting_at_the_deadline_is_cut_off_at_the_deadline(server, settings):
    # Socket timeouts alone would let the last read wait a full timeout past the deadline.
    settings.IMPORT_IMAGE_TIMEOUT_SECONDS = 1.0
    started = time.monotonic()

    assert "took longer than the 1 seconds allowed" in fetch_error(server.url("/pause-body"))
    assert time.monotonic() - started < 1.4


def test_the_time_allowed_covers_the_redirects(server, settings, monkeypatch):
    settings.IMPORT_IMAGE_TIMEOUT_SECONDS = 0.5
    monkeypatch.setattr(Handler, "route_hop", slow_hop)

    message = fetch_error(server.url("/hop?left=3"))

    assert message == (
        f"The image at {server.url('/hop?left=3')} took longer than the 0.5 seconds allowed."
    )
    assert len(server.requests) < 4


def slow_hop(self, left: str) -> None:
    """A redirect that takes 0.3 s: each alone is quick enough, three are not."""
    time.sleep(0.3)
    self.redirect(f"/hop?left={int(left) - 1}")


# --- HTTPS ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for the name "localhost" (no IP address), and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(certificate):
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = ImageServer(tls=context)
    server.sni_names = names
    with serve(server):
        yield server


def test_https_checks_the_certificate_against_the_urls_host(tls_server, certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))

    content = fetch_image(tls_server.url("/image.png", host="localhost", scheme="https"))

    assert decoded(content).size == (16, 8)
    assert tls_server.sni_names == ["localhost"]
    assert tls_server.requests[0][1]["Host"] == f"localhost:{tls_server.port}"


def test_https_refuses_a_certificate_for_another_name(tls_server, certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))

    message = fetch_error(tls_server.url("/image.png", scheme="https"))

    assert message == "The TLS certificate of 127.0.0.1 could not be verified."
    assert tls_server.requests == []


def test_https_refuses_a_certificate_no_trusted_ca_signed(tls_server, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)  # The system's CAs only.

    message = fetch_error(tls_server.url("/image.png", host="localhost", scheme="https"))

    assert message == "The TLS certificate of localhost could not be verified."
    assert tls_server.requests == []
