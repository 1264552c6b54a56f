"""Fuzz the live API from its own OpenAPI schema with Schemathesis: `make fuzz`.

Serves Storefront as production does (gunicorn with config/gunicorn.conf.py, settings
config.settings.production) on a free port, over a fresh database holding the demo catalog,
a customer with a cart, an address and orders, and a staff user. Then runs `st run
--checks all` against /api/schema/ three times: as an anonymous client, as the customer and as
staff (each with its own API token). Every run is bounded (SCHEMATHESIS_MAX_EXAMPLES examples
per operation, SCHEMATHESIS_MAX_TIME seconds at most) and seeded (SCHEMATHESIS_SEED), so a
failure replays. Exit status 1 if any run reports a failure: a server error, an undocumented
status code, a response that does not match the schema, or any other check of `--checks all`.
What Schemathesis is told not to generate, and why, is in docs/api.md ("Fuzzing").

Runs on DATABASE_URL's PostgreSQL server (the database `<name>_schemathesis` is created and
dropped) and Redis at REDIS_URL (databases 11 and 12 are flushed); with either unset, on the
embedded PostgreSQL or a private redis-server, as `make test` does (storefront/core/servers.py).
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import dj_database_url
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from config.settings.base import EMBEDDED_POSTGRES_DIR  # noqa: E402
from storefront.core import servers  # noqa: E402
from storefront.core.servers import free_port  # noqa: E402

PYTHON = sys.executable
ST = str(Path(PYTHON).with_name("st"))
CONFIG = ROOT / ".ci" / "schemathesis.toml"
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25")
MAX_TIME = os.environ.get("SCHEMATHESIS_MAX_TIME", "90")
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261201")
# Logging out revokes the token a run authenticates with; the anonymous run covers them.
TOKEN_REVOKING = ["/api/auth/logout/", "/api/auth/logout-all/"]

SEED_DATA = """
import json
from knox.models import AuthToken
from storefront.accounts.models import Address, User
from storefront.carts.services import add_to_cart, get_or_create_customer_cart
from storefront.catalog.models import ProductVariant
from storefront.orders import services as orders

password = "Fuzz-" + "{password}"
customer = User.objects.create_user(email="customer@example.com", password=password)
staff = User.objects.create_superuser(email="staff@example.com", password=password)
address = Address.objects.create(
    customer=customer, full_name="Ada Lovelace", line1="1 Main St", city="Springfield",
    postal_code="12345", country="US", is_default_shipping=True,
)
variants = list(
    ProductVariant.objects.purchasable().filter(stock_quantity__gte=5)
    .select_related("product").order_by("pk")
)
cart = get_or_create_customer_cart(customer=customer)
placed = {}
for method, variant in zip(["cash_on_delivery", "card"], variants):
    add_to_cart(cart=cart, variant_id=variant.pk)
    placed[method], _ = orders.place_order(
        customer=customer, shipping_address="1 Main St", billing_address=address.as_text(),
        phone_number="+1 555 0100", payment_method=method,
    )
# Items left in the cart, so that a checkout of the run can succeed.
for variant in variants[2:5]:
    add_to_cart(cart=cart, variant_id=variant.pk)
print(json.dumps({
    "CUSTOMER_TOKEN": AuthToken.objects.create(customer)[1],
    "STAFF_TOKEN": AuthToken.objects.create(staff)[1],
    "FUZZ_CASH_ORDER_ID": placed["cash_on_delivery"].pk,
    "FUZZ_CARD_ORDER_ID": placed["card"].pk,
}))
"""


def run(*args: str, env: dict, capture: bool = False) -> str:
    result = subprocess.run(args, cwd=ROOT, env=env, text=True, capture_output=capture, timeout=900)
    if result.returncode:
        raise SystemExit(f"{args[:3]} failed:\n{result.stderr or ''}")
    return result.stdout if capture else ""


def recreate_database(url: str) -> str:
    """Drop and create `<name>_schemathesis` on DATABASE_URL's server; return its URL."""
    config = dj_database_url.parse(url)
    name = f"{config['NAME']}_schemathesis"
    admin = {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"] or "postgres",
        "password": config["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def wait_until_serving(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited before it served")
        try:
            with urllib.request.urlopen(f"{base}/api/health/", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer within 60 s")


def schemathesis(base: str, name: str, token: str | None, config: Path) -> int:
    """One `st run` as `name` with the configuration `config`; returns its exit status."""
    args = [
        ST,
        "--config-file",
        str(config),
        "run",
        f"{base}/api/schema/",
        "--checks",
        "all",
        "--max-examples",
        MAX_EXAMPLES,
        "--max-time",
        MAX_TIME,
        "--seed",
        SEED,
        # One worker: Hypothesis' code generation is not thread-safe (a run with two failed
        # once with "AST constructor recursion depth mismatch" inside Schemathesis).
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--no-color",
    ]
    if token is not None:
        args += ["--header", f"Authorization: Token {token}"]
        for path in TOKEN_REVOKING:
            args += ["--exclude-path", path]
    print(f"\n=== Schemathesis as {name} ===", flush=True)
    return subprocess.run(args, cwd=ROOT, timeout=int(MAX_TIME) * 3 + 120).returncode


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="storefront-fuzz-"))
    database_url = recreate_database(
        os.environ.get("DATABASE_URL")
        or servers.embedded_database_url(EMBEDDED_POSTGRES_DIR, "storefront")
    )
    redis = os.environ.get("REDIS_URL") or servers.private_redis_url(work / "redis")
    redis = redis.rstrip("/")
    redis = redis.rsplit("/", 1)[0] if redis.count("/") > 2 else redis
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        # Plain HTTP on loopback, no proxy in front.
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "NUM_PROXIES": "0",
        "DATABASE_URL": database_url,
        "REDIS_URL": f"{redis}/12",
        "CACHE_URL": f"{redis}/11",
        "MEDIA_ROOT": str(work / "media"),
        "STATIC_ROOT": str(work / "static"),
        # The fuzzer sends every request from one address: rate limits would answer most of
        # them 429 instead of running the code under test (the limits have their own tests).
        "THROTTLE_RATE_REGISTER": "none",
        "THROTTLE_RATE_LOGIN": "none",
        "THROTTLE_RATE_GUEST_CART": "none",
        "THROTTLE_RATE_GUEST_CHECKOUT": "none",
        "THROTTLE_RATE_PASSWORD_RESET": "none",
        "THROTTLE_RATE_PASSWORD_RESET_EMAIL": "none",
        "THROTTLE_RATE_VERIFY_EMAIL_RESEND": "none",
        # Card payments through the sandbox, so that paying orders is exercised too (there is
        # no real gateway here; production keeps it off).
        "PAYMENT_SANDBOX": "1",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_LOG_LEVEL": "warning",
    }
    for database in ("11", "12"):
        run("redis-cli", "-u", f"{redis}/{database}", "FLUSHDB", env=env, capture=True)
    run(PYTHON, "manage.py", "migrate", "--noinput", "-v", "0", env=env)
    run(PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0", env=env)
    run(PYTHON, "manage.py", "load_demo_catalog", env=env, capture=True)
    seeded = run(
        PYTHON,
        "manage.py",
        "shell",
        "-c",
        SEED_DATA.replace("{password}", secrets.token_urlsafe(12)),
        env=env,
        capture=True,
    )
    ids = json.loads(seeded.splitlines()[-1])
    customer_token, staff_token = ids.pop("CUSTOMER_TOKEN"), ids.pop("STAFF_TOKEN")
    config = work / "schemathesis.toml"
    text = CONFIG.read_text()
    for name, value in ids.items():
        text = text.replace("{" + name + "}", str(value))
    config.write_text(text)

    base = f"http://127.0.0.1:{port}"
    log = (work / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    statuses = {}
    try:
        wait_until_serving(base, server)
        for name, token in (
            ("an anonymous client", None),
            ("a customer", customer_token),
            ("staff", staff_token),
        ):
            statuses[name] = schemathesis(base, name, token, config)
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    errors = [line for line in (work / "gunicorn.log").read_text().splitlines() if "ERROR" in line]
    print("\n=== Summary ===")
    for name, status in statuses.items():
        print(f"{name}: {'passed' if status == 0 else 'FAILED'}")
    if errors:
        print(f"gunicorn logged {len(errors)} error line(s), e.g.:", *errors[:5], sep="\n  ")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if statuses and not any(statuses.values()) and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
