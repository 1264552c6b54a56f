"""`make bench`: load one catalog into Storefront, django-oscar and the floors; measure them all.

Steps (each bounded in time; every server and load generator on 127.0.0.1 only):
1. create the databases (storefront_bench, oscar_bench, floor_bench) and migrate them;
2. load the generated catalog (bench.generate; skipped when the same size is already loaded),
   then create what every checkout is placed with (a shipping method, tax, a voucher:
   bench/storefront_setup.py --pricing, bench/oscar_setup.py);
3. invalidate Storefront's response cache (COPY bypasses the ORM, so the cache cannot know the
   catalog changed), then start gunicorn (2 sync workers each) for Storefront (production
   settings, its response cache on), the same Storefront with the cache off
   (CATALOG_CACHE_SECONDS=0), Oscar + its API, and the floors (bare DRF over a flat table;
   constant JSON);
4. count SQL queries per request and EXPLAIN ANALYZE Storefront's queries (bench.querycount,
   in-process, one request at a time, never under load; Storefront's with its cache off, so
   the database path, then a second identical list and detail request with the cache on);
5. drive every read scenario with wrk at each concurrency, after a warm-up, alternating the
   systems (A B C A B C ...) for BENCH_ROUNDS rounds (the facet and SKU scenarios for
   BENCH_EXTRA_ROUNDS of them);
6. run the checkout driver (orders/s, oversells) and the oversell race on Storefront (cache on)
   and Oscar, every order with a shipping method, tax and a voucher, checked afterwards in
   each database (a run whose orders do not all hold them is flagged, and `make bench` exits
   with an error once the results are written);
7. the mixed load: 8 wrk clients reading the filtered list and product details while 8
   customers buy, on the cached Storefront and on the cache-off one (read latency, orders/s,
   5xx, oversells, and the cache's hit rate from Storefront's /metrics);
8. read the RSS of every gunicorn worker, stop the servers, write bench/results/*.json and
   docs/performance.md (bench.report).

Every system is served by its own gunicorn: Storefront on BENCH_PORT, Oscar on +1, the floors
on +2, Storefront with the cache off on +3.

Environment (all optional): BENCH_PRODUCTS (10000), BENCH_SEED, BENCH_ROUNDS (2),
BENCH_DURATION (10 s per wrk run), BENCH_WARMUP (3 s), BENCH_CONCURRENCY ("8,32"),
BENCH_CHECKOUT_SECONDS (15), BENCH_CHECKOUT_CUSTOMERS ("8,32"), BENCH_RACE_BUYERS (50),
BENCH_RACE_STOCK (10), BENCH_DB_URL (postgres://postgres@127.0.0.1:5432), BENCH_PORT (8101:
four ports from there), BENCH_GENERATE_ONLY (1: stop after loading), BENCH_QUERIES_ONLY (1:
load, then only count queries and EXPLAIN, no load test), BENCH_RELOAD (1: load even if the
same catalog is already there), BENCH_OSCAR_PYTHON (bench/.venv-oscar/bin/python),
BENCH_UNCACHED (1; 0: do not serve and measure Storefront with its cache off),
BENCH_DB_PREFIX ("": prefixed to the database names, e.g. helper_ -> helper_storefront_bench,
and to the server logs and path files in bench/run/, for a run beside another one),
BENCH_CACHE_URL (Storefront's CACHE_URL, e.g. redis://127.0.0.1:6379/13 to keep a run's cache
apart from another run's; default: CACHE_URL or production's default, Redis database 1),
BENCH_RESULTS_DIR (bench/results: where the result JSON is written and the report reads from),
BENCH_NO_REPORT (1: do not regenerate docs/performance.md), BENCH_PRIME (1; 0: do not request
every path of each scenario once on the cached Storefront before measuring it),
BENCH_EXTRA_ROUNDS (1: how many of the BENCH_ROUNDS rounds measure the facet and SKU
scenarios and the mixed load, which keeps the default run within about 25 minutes),
BENCH_MIXED_SECONDS (BENCH_CHECKOUT_SECONDS: length of the mixed load; 0 skips it).
CATALOG_CACHE_SECONDS (default 3600 here) is passed on to the cached Storefront.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import psycopg

from bench import checkout, report
from bench.catalog import DEFAULT_SEED, Catalog
from bench.generate import generate

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RUN_DIR = BENCH / "run"
RESULTS_DIR = BENCH / "results"
STOREFRONT_PYTHON = Path(sys.executable)
OSCAR_PYTHON = Path(os.environ.get("BENCH_OSCAR_PYTHON", BENCH / ".venv-oscar" / "bin" / "python"))
SECRET_KEY = "bench-only-secret-key-" + "k3y" * 12  # 50+ characters, not "django-insecure"
PAGE_SIZE = 24
WORKERS = 2
CUSTOMER_PASSWORD = "bench-Customer-pass-2026"
# Storefront served twice from the same code and database: with its response cache (as
# configured), and with the cache off (CATALOG_CACHE_SECONDS=0), the database path.
STOREFRONTS = ("storefront", "storefront_nocache")
# Systems in the order they are measured, alternating, in every round.
SYSTEMS = ("storefront", "storefront_nocache", "oscar", "floor")
# Every scenario, in the order each round measures them.
SCENARIOS = (
    "list_first", "list_deep", "list_filtered", "facets", "search", "sku_variants", "sku_product",
    "detail", "constant",
)  # fmt: skip
# Scenarios measured on Storefront with the cache off: every read Storefront runs.
UNCACHED_SCENARIOS = (
    "list_first", "list_deep", "list_filtered", "facets", "search", "sku_variants", "sku_product",
    "detail",
)  # fmt: skip
# Measured in the first BENCH_EXTRA_ROUNDS rounds only (issue 13's endpoints).
EXTRA_SCENARIOS = ("facets", "sku_variants", "sku_product")
# SKUs asked for by one GET /api/variants/?sku=...
SKUS_PER_LOOKUP = 10
# Distinct GET /api/products/?sku=X paths (the variants' lookups ask for 2,000 SKUs).
SKU_PRODUCTS = 500
# The mixed load: wrk read clients and checkout customers at the same time.
MIXED_READERS = 8
MIXED_BUYERS = 8
MIXED_SYSTEMS = ("storefront", "storefront_nocache")
# Opens Storefront's GET /metrics (settings.METRICS_TOKEN) for the cache's hit rate.
METRICS_TOKEN = "bench-metrics-token-" + "m3t" * 10
# Requests whose count is also taken for a cache hit (a second identical request, cache on).
CACHED_HIT_SCENARIOS = ("list_first", "detail")


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_ints(name: str, default: str) -> list[int]:
    return [int(x) for x in os.environ.get(name, default).split(",") if x.strip()]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Config:
    def __init__(self) -> None:
        self.products = env_int("BENCH_PRODUCTS", 10_000)
        self.seed = env_int("BENCH_SEED", DEFAULT_SEED)
        self.rounds = env_int("BENCH_ROUNDS", 2)
        self.duration = env_int("BENCH_DURATION", 10)
        self.warmup = env_int("BENCH_WARMUP", 3)
        self.concurrency = env_ints("BENCH_CONCURRENCY", "8,32")
        self.checkout_seconds = env_int("BENCH_CHECKOUT_SECONDS", 15)
        self.checkout_customers = env_ints("BENCH_CHECKOUT_CUSTOMERS", "8,32")
        self.race_buyers = env_int("BENCH_RACE_BUYERS", 50)
        self.race_stock = env_int("BENCH_RACE_STOCK", 10)
        self.db_url = os.environ.get("BENCH_DB_URL", "postgres://postgres@127.0.0.1:5432").rstrip(
            "/"
        )
        self.port = env_int("BENCH_PORT", 8101)
        self.generate_only = os.environ.get("BENCH_GENERATE_ONLY") == "1"
        self.reload = os.environ.get("BENCH_RELOAD") == "1"
        self.queries_only = os.environ.get("BENCH_QUERIES_ONLY") == "1"
        self.uncached = os.environ.get("BENCH_UNCACHED", "1") != "0"
        self.prime = os.environ.get("BENCH_PRIME", "1") != "0"
        self.db_prefix = os.environ.get("BENCH_DB_PREFIX", "")
        if not re.fullmatch(r"[a-z0-9_]*", self.db_prefix):
            raise SystemExit("BENCH_DB_PREFIX may hold only a-z, 0-9 and _")
        self.databases = {
            "storefront": f"{self.db_prefix}storefront_bench",
            "oscar": f"{self.db_prefix}oscar_bench",
            "floor": f"{self.db_prefix}floor_bench",
        }
        self.cache_url = os.environ.get("BENCH_CACHE_URL", "")
        self.catalog_cache_seconds = os.environ.get("CATALOG_CACHE_SECONDS")
        self.results_dir = Path(os.environ.get("BENCH_RESULTS_DIR") or RESULTS_DIR).resolve()
        self.no_report = os.environ.get("BENCH_NO_REPORT") == "1"
        self.extra_rounds = env_int("BENCH_EXTRA_ROUNDS", 1)
        self.mixed_seconds = env_int("BENCH_MIXED_SECONDS", self.checkout_seconds)
        host = urlsplit(self.db_url).hostname or ""
        if host not in checkout.LOOPBACK:
            raise SystemExit(f"BENCH_DB_URL must point at this machine (loopback), not {host!r}")

    def dsn(self, system: str) -> str:
        return f"{self.db_url}/{self.databases[database_of(system)]}"

    def run_file(self, name: str) -> Path:
        """A server log or wrk path file of this run in bench/run/, named with the DB prefix."""
        return RUN_DIR / f"{self.db_prefix}{name}"

    def as_dict(self) -> dict:
        keys = [
            "products", "seed", "rounds", "duration", "warmup", "concurrency", "checkout_seconds",
            "checkout_customers", "race_buyers", "race_stock", "extra_rounds", "mixed_seconds",
        ]  # fmt: skip
        return {
            **{key: getattr(self, key) for key in keys},
            "page_size": PAGE_SIZE,
            "gunicorn": {"workers": WORKERS, "worker_class": "sync"},
            "databases": self.databases,
            "uncached": self.uncached,
            "primed": self.prime,
            "extra_scenarios": list(EXTRA_SCENARIOS),
            "mixed": {"readers": MIXED_READERS, "buyers": MIXED_BUYERS},
            # The cached Storefront's; the cache-off Storefront always runs with 0.
            "catalog_cache_seconds": self.catalog_cache_seconds or "3600",
        }


def database_of(system: str) -> str:
    """The database a system reads: Storefront with its cache off reads Storefront's."""
    return "storefront" if system in STOREFRONTS else system


# --- Environments of the systems ------------------------------------------------------------


def db_env(config: Config) -> dict[str, str]:
    parts = urlsplit(config.db_url)
    return {
        "BENCH_DB_HOST": parts.hostname or "127.0.0.1",
        "BENCH_DB_PORT": str(parts.port or 5432),
        "BENCH_DB_USER": parts.username or "postgres",
        "BENCH_DB_PASSWORD": parts.password or "",
        "BENCH_SECRET_KEY": SECRET_KEY,
        "BENCH_PAGE_SIZE": str(PAGE_SIZE),
    }


def system_env(config: Config, system: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(db_env(config))
    env["PYTHONPATH"] = str(ROOT)
    if system in STOREFRONTS:
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.production",
            DJANGO_SECRET_KEY=SECRET_KEY,
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
            DJANGO_SECURE_SSL_REDIRECT="0",
            DATABASE_URL=config.dsn("storefront"),
            LOG_LEVEL="CRITICAL",
            # gunicorn faces the load generator directly; and the checkout scenario logs up to
            # 50 customers in from this one address each round, past THROTTLE_RATE_LOGIN.
            NUM_PROXIES="0",
            THROTTLE_RATE_LOGIN="none",
        )
        if config.cache_url:
            env["CACHE_URL"] = config.cache_url
        if system == "storefront_nocache":
            env["CATALOG_CACHE_SECONDS"] = "0"
        else:
            # Invalidation is exact; the lifetime only bounds what a write bypassing the ORM
            # could leave stale. An hour keeps primed entries through a whole run.
            env.setdefault("CATALOG_CACHE_SECONDS", "3600")
    elif system == "oscar":
        env.update(
            DJANGO_SETTINGS_MODULE="bench.oscar_site.settings",
            BENCH_OSCAR_DB=config.databases["oscar"],
        )
    else:
        env.update(
            DJANGO_SETTINGS_MODULE="bench.floor_site.settings",
            BENCH_FLOOR_DB=config.databases["floor"],
        )
    return env


def python_for(system: str) -> Path:
    return OSCAR_PYTHON if system == "oscar" else STOREFRONT_PYTHON


def run_python(config: Config, system: str, args: list[str], *, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(python_for(system)), *args],
        cwd=ROOT,
        env=system_env(config, system),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{system}: {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result.stdout


def ensure_databases(config: Config) -> None:
    with psycopg.connect(f"{config.db_url}/postgres", autocommit=True) as conn:
        existing = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        for name in config.databases.values():
            if name not in existing:
                conn.execute(f'CREATE DATABASE "{name}"')
                log(f"created database {name}")


def migrate(config: Config) -> None:
    log(f"Migrating {config.databases['storefront']} and {config.databases['oscar']}")
    run_python(config, "storefront", ["manage.py", "migrate", "--noinput", "-v0"])
    run_python(config, "oscar", ["-m", "django", "migrate", "--noinput", "-v0"])


def checkout_setup(config: Config) -> dict:
    """Create, idempotently, what every checkout is placed with: Storefront's shipping zone
    and method, tax rate and voucher (bench.storefront_setup --pricing), Oscar's voucher
    and its offer (bench.oscar_setup; its shipping method and tax are bench/oscar_site/
    shop.py's classes). After the catalog load, before the cache is invalidated and any
    server starts; fails (stops the bench) if either cannot be created."""
    log("Creating the checkout's shipping method, tax rate and voucher")
    done = {
        "storefront": json.loads(
            run_python(config, "storefront", ["-m", "bench.storefront_setup", "--pricing"])
        ),
        "oscar": json.loads(run_python(config, "oscar", ["-m", "bench.oscar_setup"])),
    }
    return {"includes": checkout.INCLUDES, "setup": done}


def invalidate_storefront_cache(config: Config) -> None:
    """Drop Storefront's cached catalog responses: the COPY load bypassed the ORM, so the cache
    cannot know the catalog changed (and it may hold pages of another catalog served on the
    same port). Fails if the cache cannot be reached."""
    log("Invalidating Storefront's catalog cache")
    run_python(config, "storefront", ["-m", "bench.storefront_setup", "--invalidate-catalog"])


# --- Servers --------------------------------------------------------------------------------


class Server:
    """gunicorn with 2 sync workers on 127.0.0.1:port, logs in bench/run/<system>-gunicorn.log.

    Storefront's run in prometheus-client's multiprocess mode, as config/gunicorn.conf.py
    sets it up in production (a metrics directory in bench/run/, emptied at each start), so
    that GET /metrics adds up both workers' counters; METRICS_TOKEN opens it to the bench.
    """

    def __init__(self, config: Config, system: str, wsgi: str, port: int) -> None:
        self.system, self.port = system, port
        self.log_path = config.run_file(f"{system}-gunicorn.log")
        gunicorn = python_for(system).parent / "gunicorn"
        self.command = [
            str(gunicorn), "--chdir", str(ROOT), "--workers", str(WORKERS),
            "--worker-class", "sync", "--bind", f"127.0.0.1:{port}", "--backlog", "2048",
            "--timeout", "120", "--no-control-socket", "--log-level", "warning",
            "--error-logfile", str(self.log_path), wsgi,
        ]  # fmt: skip
        self.env = system_env(config, system)
        self.metrics_dir: Path | None = None
        if system in STOREFRONTS:
            self.metrics_dir = config.run_file(f"metrics-{system}")
            self.env.update(
                PROMETHEUS_MULTIPROC_DIR=str(self.metrics_dir), METRICS_TOKEN=METRICS_TOKEN
            )
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # Something else answering on the port would be measured instead: refuse to start.
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                raise SystemExit(
                    f"127.0.0.1:{self.port} is already in use; set BENCH_PORT to a free range."
                )
        if self.metrics_dir:
            # Counters of an earlier run would be added up too.
            shutil.rmtree(self.metrics_dir, ignore_errors=True)
            self.metrics_dir.mkdir(parents=True)
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"{self.system} server exited; see {self.log_path}")
            try:
                urllib.request.urlopen(self.base + path, timeout=5).read()
                return
            except urllib.error.HTTPError:
                return  # it answers, even if not 200
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.system} server did not answer on {self.base}")

    def cache_requests(self) -> dict[str, float] | None:
        """Storefront's storefront_catalog_cache_requests_total by result, from GET /metrics
        (both workers); None if /metrics does not answer or has no such counter."""
        from prometheus_client.parser import text_string_to_metric_families

        request = urllib.request.Request(
            self.base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
        except OSError as error:
            log(f"  GET /metrics on {self.system} failed: {error}")
            return None
        found = {
            sample.labels["result"]: sample.value
            for family in text_string_to_metric_families(text)
            if family.name == "storefront_catalog_cache_requests"
            for sample in family.samples
            if sample.name.endswith("_total")
        }
        return found or None

    def worker_rss_mb(self) -> list[float]:
        if not self.process:
            return []
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        sizes = []
        for child in children:
            try:
                status = Path(f"/proc/{child}/status").read_text()
            except OSError:
                continue
            match = re.search(r"VmRSS:\s+(\d+) kB", status)
            if match:
                sizes.append(round(int(match.group(1)) / 1024, 1))
        return sizes

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def get_json(url: str) -> tuple[int, object]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()[:300].decode(errors="replace")
    except (OSError, ValueError) as error:
        return 0, str(error)


# --- Scenarios -----------------------------------------------------------------------------


def sample_ids(config: Config, count: int) -> tuple[list[int], list[int]]:
    """Random published product ids and in-stock variant ids of published products."""
    with psycopg.connect(config.dsn("storefront")) as conn:
        conn.execute("SELECT setseed(0.42)")
        products = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM catalog_product WHERE is_published ORDER BY random() LIMIT %s",
                [count],
            )
        ]
        variants = [
            row[0]
            for row in conn.execute(
                """
                SELECT v.id FROM catalog_productvariant v JOIN catalog_product p
                  ON p.id = v.product_id
                WHERE p.is_published AND v.stock_quantity > 0 ORDER BY random() LIMIT %s
                """,
                [count],
            )
        ]
    return products, variants


def sample_skus(config: Config, count: int) -> list[str]:
    """Random SKUs of variants of published products (the same ones for the same catalog)."""
    with psycopg.connect(config.dsn("storefront")) as conn:
        conn.execute("SELECT setseed(0.13)")
        return [
            row[0]
            for row in conn.execute(
                """
                SELECT v.sku FROM catalog_productvariant v JOIN catalog_product p
                  ON p.id = v.product_id
                WHERE p.is_published ORDER BY random() LIMIT %s
                """,
                [count],
            )
        ]


def deep_page(count: int) -> int:
    pages = max(1, math.ceil(count / PAGE_SIZE))
    return max(1, int(pages * 0.9))


def deep_path(base: str, first: str) -> tuple[str | None, dict]:
    """The deep page a client would request, and how it was found.

    Page 90 % of the way through is fetched once by number (`?page=N`); what is measured is
    its `next` link when it has one (what a client paging on holds: for Storefront's default
    ordering a keyset cursor, cheap however deep), else `?page=N`. The dict records the page,
    the count it came from, the path by number, `via` ("next link" or "page number") and
    `link` ("cursor" when the link carries a parameter the numbered path does not, else
    "page number").
    """
    status, body = get_json(base + first)
    if status != 200 or not isinstance(body, dict) or "count" not in body:
        return None, {"error": f"GET {first} answered {status}"}
    page = deep_page(body["count"])
    separator = "&" if "?" in first else "?"
    numbered = f"{first}{separator}page={page}"
    info = {"page": page, "count": body["count"], "page_path": numbered}
    if "count_is_exact" in body:
        info["count_is_exact"] = body["count_is_exact"]
    status, body = get_json(base + numbered)
    link = body.get("next") if status == 200 and isinstance(body, dict) else None
    if not link:
        return numbered, {**info, "via": "page number", "link": None}
    parts = urlsplit(link)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    extra = set(parse_qs(parts.query)) - set(parse_qs(urlsplit(numbered).query))
    return path, {**info, "via": "next link", "link": "cursor" if extra else "page number"}


def build_scenarios(config: Config, servers: dict[str, Server], catalog: Catalog) -> list[dict]:
    """Every (scenario, system) pair with its request paths; probed once (must answer 200).

    A scenario whose first path does not answer 200 is kept in the plan, marked `skipped`
    with the answer, and not measured (an endpoint this Storefront does not have yet).
    """
    product_ids, _ = sample_ids(config, 2000)
    rng = random.Random(config.seed)
    slugs = [c.slug for c in catalog.categories if c.depth <= 2]
    filters = []
    for _ in range(200):
        low = rng.choice([0, 10, 25, 50, 100, 150])
        filters.append(
            urlencode(
                {
                    "category": rng.choice(slugs),
                    "min_price": low,
                    "max_price": low + rng.choice([50, 100, 200]),
                    "in_stock": "true",
                }
            )
        )
    filtered = [f"/api/products/?{query}" for query in filters]
    facets = [f"/api/products/facets/?{query}" for query in filters]
    searches = ["/api/products/?" + urlencode({"search": term}) for term in catalog.search_terms()]
    skus = sample_skus(config, 2000)
    sku_lookups = [
        "/api/variants/?" + urlencode({"sku": ",".join(skus[i : i + SKUS_PER_LOOKUP])}, safe=",")
        for i in range(0, len(skus), SKUS_PER_LOOKUP)
    ]
    # Fewer than the details: each is primed (a cache miss) before the cached run.
    sku_products = ["/api/products/?" + urlencode({"sku": sku}) for sku in skus[:SKU_PRODUCTS]]
    details = {
        "storefront": [f"/api/products/{pid}/" for pid in product_ids],
        "oscar": [f"/api/products/{pid}/" for pid in product_ids],
        "floor": [f"/products/{pid}/" for pid in product_ids],
    }
    first = {
        "storefront": "/api/products/",
        "oscar": "/api/products/?structure=parent",
        "floor": "/products/",
    }
    storefront_only = {
        "list_filtered": filtered,
        "facets": facets,
        "search": searches,
        "sku_variants": sku_lookups,
        "sku_product": sku_products,
    }
    plan: list[dict] = []
    for scenario in SCENARIOS:
        for system in SYSTEMS:
            if system not in servers:
                continue
            if system == "storefront_nocache" and scenario not in UNCACHED_SCENARIOS:
                continue
            kind = database_of(system)  # the cache-off Storefront answers the same paths
            paths: list[str] = []
            extra: dict = {}
            if scenario == "list_first":
                paths = [first[kind]]
            elif scenario == "list_deep":
                path, extra["deep_page"] = deep_path(servers[system].base, first[kind])
                paths = [path] if path else []
            elif scenario in storefront_only and kind == "storefront":
                paths = storefront_only[scenario]
            elif scenario == "detail":
                paths = details[kind]
            elif scenario == "constant" and kind == "floor":
                paths = ["/constant/"]
            if not paths:
                continue
            label = "server_floor" if scenario == "constant" else system
            entry = {"scenario": scenario, "system": label, "server": system, "paths": paths}
            entry.update(extra)
            status, body = get_json(servers[system].base + paths[0])
            if status != 200:
                entry["skipped"] = f"GET {paths[0]} answered {status}: {str(body)[:200]}"
                log(f"  skip {scenario} on {label}: {entry['skipped']}")
            plan.append(entry)
    return plan


# --- wrk -----------------------------------------------------------------------------------


def run_wrk(base: str, paths_file: Path, *, connections: int, seconds: int) -> dict:
    threads = min(2, connections)
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(BENCH / "lua" / "paths.lua"), base, "--", str(paths_file),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    match = re.search(r"^BENCH_JSON (.*)$", result.stdout, re.M)
    if not match:
        raise RuntimeError(f"wrk printed no summary:\n{result.stdout}\n{result.stderr}")
    data = json.loads(match.group(1))
    errors = data["errors"]
    duration = data["duration_us"] / 1e6
    return {
        "requests": data["requests"],
        "rps": round(data["requests"] / duration, 1),
        "p50_ms": round(data["latency_us"]["p50"] / 1000, 2),
        "p90_ms": round(data["latency_us"]["p90"] / 1000, 2),
        "p99_ms": round(data["latency_us"]["p99"] / 1000, 2),
        "max_ms": round(data["latency_us"]["max"] / 1000, 2),
        "non_2xx": errors["status"],
        "socket_errors": errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
    }


def prime(base: str, paths: list[str], scenario: str) -> None:
    """Request every path once (4 at a time), so that Storefront's response cache holds them
    all before wrk measures: the cached figures are those of a warm cache. A 3 s wrk warm-up
    alone reaches only part of 2,000 detail ids or 200 filter combinations."""
    from concurrent.futures import ThreadPoolExecutor

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda path: get_json(base + path)[0], paths))
    bad = len([s for s in statuses if s != 200])
    log(
        f"  primed {len(paths)} {scenario} paths on storefront in "
        f"{time.monotonic() - started:.1f} s" + (f" ({bad} not 200)" if bad else "")
    )


def settle(dsn: str, *, timeout: float = 120.0, quiet_checks: int = 3) -> float:
    """Cancel the queries still running in the database `dsn` and wait until it is idle;
    return the seconds that took.

    When wrk stops, a system slower than the run (Oscar's list, a cache-off list at 1M
    products) still has queries running and requests queued for connections wrk has closed.
    Left alone they keep PostgreSQL busy during the next system's measurement, which is
    then measured on a loaded machine. Every active query of the database but this one is
    cancelled (pg_cancel_backend) until `quiet_checks` checks 0.2 s apart find none, or
    `timeout` seconds pass.
    """
    started = time.monotonic()
    quiet = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        while quiet < quiet_checks and time.monotonic() - started < timeout:
            cancelled = conn.execute(
                """
                SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity
                WHERE datname = current_database() AND state = 'active'
                  AND pid <> pg_backend_pid()
                """
            ).fetchone()[0]
            quiet = 0 if cancelled else quiet + 1
            time.sleep(0.2)
    return round(time.monotonic() - started, 1)


def http_runs(config: Config, servers: dict[str, Server], plan: list[dict]) -> list[dict]:
    results = []
    for entry in plan:
        if "skipped" not in entry:
            path = config.run_file(f"paths-{entry['scenario']}-{entry['system']}.txt")
            path.write_text("\n".join(entry["paths"]) + "\n")
            entry["file"] = path
    runnable = [e for e in plan if "skipped" not in e]
    if config.prime:
        for entry in runnable:
            if entry["system"] == "storefront":
                prime(servers[entry["server"]].base, entry["paths"], entry["scenario"])

    def measured_in(round_number: int) -> list[dict]:
        return [
            e
            for e in runnable
            if e["scenario"] not in EXTRA_SCENARIOS or round_number <= config.extra_rounds
        ]

    rounds = range(1, config.rounds + 1)
    total = len(config.concurrency) * sum(len(measured_in(r)) for r in rounds)
    done = 0
    for round_number in rounds:
        for connections in config.concurrency:
            for entry in measured_in(round_number):
                base = servers[entry["server"]].base
                run_wrk(base, entry["file"], connections=connections, seconds=config.warmup)
                measured = run_wrk(
                    base, entry["file"], connections=connections, seconds=config.duration
                )
                loadavg = round(os.getloadavg()[0], 2)
                has_database = database_of(entry["system"]) in config.databases
                settled = settle(config.dsn(entry["system"])) if has_database else 0.0
                done += 1
                log(
                    f"  [{done}/{total}] round {round_number} c={connections} "
                    f"{entry['scenario']:<13} {entry['system']:<18} {measured['rps']:>8.1f} req/s "
                    f"p50 {measured['p50_ms']:.1f} ms p99 {measured['p99_ms']:.1f} ms"
                    + (f" non-2xx {measured['non_2xx']}" if measured["non_2xx"] else "")
                    + (f" (settled in {settled} s)" if settled > 1 else "")
                )
                results.append(
                    {
                        "scenario": entry["scenario"],
                        "system": entry["system"],
                        "concurrency": connections,
                        "round": round_number,
                        **measured,
                        "loadavg_1m": loadavg,
                        "settle_s": settled,
                    }
                )
    return results


# --- Query counts, checkout, race ------------------------------------------------------------


def query_counts(config: Config, plan: list[dict], servers: dict[str, Server]) -> dict:
    """Run bench.querycount inside each system's virtualenv on the first path of each scenario.

    Storefront's counts are those of the database path: they are taken with its response
    cache off (in the cache-off environment, CATALOG_CACHE_SECONDS=0), whether or not the
    cache-off server runs. Then, with the cache on, the list and detail are requested twice
    and the second (a cache hit) is counted: `cached_hit_queries`. When the deep page is
    reached through a cursor link, Storefront's page by number (`?page=N`, what a client
    jumping there asks for) is counted and explained too: `list_deep_numbered`.
    """
    counts: dict = {}
    for system in servers:
        if system == "storefront_nocache":
            continue  # same code and database as Storefront: its counts are Storefront's
        requests = [
            {"name": e["scenario"], "path": e["paths"][0]}
            for e in plan
            if e["server"] == system and "skipped" not in e and e["scenario"] != "constant"
        ]
        if system == "storefront":
            requests += numbered_deep_page(plan)
        spec = {
            "requests": requests,
            "explain": system == "storefront",
            "flow": system if system in ("storefront", "oscar") else None,
            "products": config.products,
            "customer": {"email": "bench-query@bench.invalid", "password": CUSTOMER_PASSWORD},
        }
        spec["variant_id"] = sample_ids(config, 1)[1][0]
        environment = "storefront_nocache" if system == "storefront" else system
        try:
            output = run_python(
                config, environment, ["-m", "bench.querycount"], stdin=json.dumps(spec)
            )
            counts[system] = json.loads(output)
        except (RuntimeError, ValueError) as error:
            counts[system] = {"error": str(error)[-2000:]}
            log(f"  query count on {system} failed: {str(error)[-500:]}")
            continue
        if system == "storefront":
            counts[system].update(cached_hit_counts(config, requests))
    return counts


def numbered_deep_page(plan: list[dict]) -> list[dict]:
    """Storefront's deep page by number, as a querycount request, if the measured deep page
    is its next link with a cursor."""
    for entry in plan:
        info = entry.get("deep_page") or {}
        if entry["server"] == "storefront" and info.get("link") == "cursor":
            return [{"name": "list_deep_numbered", "path": info["page_path"]}]
    return []


def cached_hit_counts(config: Config, requests: list[dict]) -> dict:
    """Queries of a cache hit: querycount in Storefront's cached environment sends each
    request once (which fills the cache) and counts the second, identical one."""
    spec = {
        "requests": [r for r in requests if r["name"] in CACHED_HIT_SCENARIOS],
        "explain": False,
        "flow": None,
    }
    try:
        output = run_python(
            config, "storefront", ["-m", "bench.querycount"], stdin=json.dumps(spec)
        )
        found = json.loads(output)
    except (RuntimeError, ValueError) as error:
        log(f"  cache-hit query count on storefront failed: {str(error)[-500:]}")
        return {"cached_hit_error": str(error)[-2000:]}
    hits = {name: entry["queries"] for name, entry in found["requests"].items()}
    log("  Storefront cache hit: " + ", ".join(f"{n} {q} queries" for n, q in hits.items()))
    return {
        "cached_hit_queries": hits,
        "cached_hit_cache_seconds": found.get("catalog_cache_seconds"),
    }


def storefront_customers(config: Config, count: int) -> list[str]:
    emails = [f"bench-customer-{i}@bench.invalid" for i in range(count)]
    run_python(
        config,
        "storefront",
        ["-m", "bench.storefront_setup", CUSTOMER_PASSWORD, "bench-query@bench.invalid", *emails],
    )
    return emails


def extras_note(run: dict) -> str:
    """The log's word on a run's orders: whether each held shipping, tax and the voucher."""
    extras = run.get("extras") or {}
    counts = ", ".join(f"{k} {extras.get(k, 0)}" for k in ("shipping", "tax", "voucher"))
    if run.get("extras_complete"):
        return f"all {extras['orders']} orders with shipping, tax and voucher"
    return (
        f"WARNING: NOT EVERY ORDER HAS SHIPPING, TAX AND THE VOUCHER: of "
        f"{extras.get('orders', 0)} orders {counts}"
    )


def incomplete_checkouts(results: dict) -> list[str]:
    """Which checkout, race and mixed runs placed orders without shipping, tax or the
    voucher (or no order at all), as lines for the log."""
    return [
        f"{run['system']} ({run.get('customers') or run.get('buyers')} customers): "
        + extras_note(run)
        for run in checkout.incomplete_runs(results)
    ]


def checkout_runs(config: Config, servers: dict[str, Server]) -> dict:
    result: dict = {"runs": [], "race": [], "skipped": {}, "includes": checkout.INCLUDES}
    buyers = max(config.race_buyers, *config.checkout_customers)
    _, variants = sample_ids(config, 200)
    shops = []
    if "storefront" in servers:
        emails = storefront_customers(config, buyers)
        shop = checkout.StorefrontShop(
            host="127.0.0.1",
            port=servers["storefront"].port,
            dsn=config.dsn("storefront"),
            emails=emails,
            password=CUSTOMER_PASSWORD,
        )
        shops.append(shop)
    if "oscar" in servers:
        shops.append(
            checkout.OscarShop(
                host="127.0.0.1",
                port=servers["oscar"].port,
                dsn=config.dsn("oscar"),
                products=config.products,
            )
        )
    ready = []
    for shop in shops:
        reason = shop.probe()
        if reason:
            result["skipped"][shop.name] = reason
            log(f"  skip checkout on {shop.name}: {reason}")
        else:
            ready.append(shop)
    for round_number in range(1, config.rounds + 1):
        for customers in config.checkout_customers:
            for shop in ready:
                try:
                    run = checkout.run_checkout(
                        shop,
                        customers=customers,
                        variant_ids=variants,
                        seconds=config.checkout_seconds,
                        stock=1000,
                        seed=round_number,
                    )
                except RuntimeError as error:
                    result["skipped"][shop.name] = str(error)[:500]
                    log(f"  checkout on {shop.name} failed: {error}")
                    continue
                run["round"] = round_number
                result["runs"].append(run)
                log(
                    f"  checkout round {round_number} {shop.name:<10} {customers} customers: "
                    f"{run['orders_per_s']} orders/s, oversold {run['oversold_units']}, "
                    f"5xx {run['server_errors']}, statuses {run['statuses']}; " + extras_note(run)
                )
    race_variant = variants[-1]
    for shop in ready:
        try:
            race = checkout.run_race(
                shop, variant_id=race_variant, buyers=config.race_buyers, stock=config.race_stock
            )
        except RuntimeError as error:
            log(f"  race on {shop.name} failed: {error}")
            continue
        result["race"].append(race)
        log(
            f"  race {shop.name:<10} {race['buyers']} buyers, stock {race['start_stock']}: "
            f"{race['orders']} orders, stock left {race['stock_left']}, "
            f"statuses {race['checkout_statuses']}; " + extras_note(race)
        )
    return result


def mixed_paths(plan: list[dict]) -> list[str]:
    """The mixed load's reads: Storefront's filtered-list and detail paths, interleaved."""
    found = {
        e["scenario"]: e["paths"]
        for e in plan
        if e["server"] == "storefront" and e["scenario"] in ("list_filtered", "detail")
        and "skipped" not in e
    }  # fmt: skip
    filtered, details = found.get("list_filtered", []), found.get("detail", [])
    # As many filtered lists as details: 200 combinations of the one, 2,000 ids of the other.
    if filtered and details:
        filtered = filtered * max(1, len(details) // len(filtered))
    return filtered + details


def mixed_runs(config: Config, servers: dict[str, Server], plan: list[dict]) -> dict:
    """Reads and checkouts at once, on the cached Storefront and on the cache-off one.

    For BENCH_MIXED_SECONDS, MIXED_READERS wrk connections read the filtered list and
    product details (half each) while MIXED_BUYERS customers buy (bench.checkout, 200
    variants of 1,000 units). Before the cached Storefront's run its read paths are primed;
    its cache's hits and misses during the run are read from GET /metrics before and after.
    """
    result: dict = {"runs": [], "skipped": {}}
    if config.mixed_seconds <= 0:
        result["skipped"]["all"] = "BENCH_MIXED_SECONDS=0"
        return result
    reads = mixed_paths(plan)
    systems = [s for s in MIXED_SYSTEMS if s in servers]
    if not reads or not systems:
        result["skipped"]["all"] = "no filtered-list or detail paths, or no Storefront server"
        log(f"  skip the mixed load: {result['skipped']['all']}")
        return result
    paths_file = config.run_file("paths-mixed.txt")
    paths_file.write_text("\n".join(reads) + "\n")
    _, variants = sample_ids(config, 200)
    emails = storefront_customers(config, MIXED_BUYERS)
    tokens: dict[int, str] = {}  # one login per customer, for both servers
    for round_number in range(1, min(config.rounds, config.extra_rounds) + 1):
        for system in systems:
            server = servers[system]
            shop = checkout.StorefrontShop(
                host="127.0.0.1",
                port=server.port,
                dsn=config.dsn(system),
                emails=emails,
                password=CUSTOMER_PASSWORD,
            )
            shop.tokens = tokens
            reason = shop.probe()
            if reason:
                result["skipped"][system] = reason
                log(f"  skip the mixed load on {system}: {reason}")
                continue
            try:
                run = mixed_run(config, server, shop, paths_file, reads, variants, round_number)
            except RuntimeError as error:
                result["skipped"][system] = str(error)[:500]
                log(f"  mixed load on {system} failed: {error}")
                continue
            result["runs"].append(run)
            checkout_run = run["checkout"]
            log(
                f"  mixed round {round_number} {system:<18} reads {run['reads']['rps']:.1f} req/s "
                f"p50 {run['reads']['p50_ms']:.1f} ms p99 {run['reads']['p99_ms']:.1f} ms, "
                f"{checkout_run['orders_per_s']} orders/s, 5xx {checkout_run['server_errors']}, "
                f"oversold {checkout_run['oversold_units']}"
                + (
                    f", cache hit rate {run['cache']['hit_rate']:.1%}"
                    if (run.get("cache") or {}).get("hit_rate") is not None
                    else ""
                )
                + f"; {extras_note(checkout_run)}"
            )
    return result


def mixed_run(
    config: Config,
    server: Server,
    shop: checkout.StorefrontShop,
    paths_file: Path,
    reads: list[str],
    variants: list[int],
    round_number: int,
) -> dict:
    """One mixed load on `server`: wrk reads for exactly the seconds the customers buy."""
    if server.system == "storefront" and config.prime:
        prime(server.base, list(dict.fromkeys(reads)), "mixed")
    run_wrk(server.base, paths_file, connections=MIXED_READERS, seconds=config.warmup)
    before = server.cache_requests()
    started = threading.Event()
    outcome: dict = {}

    def buy() -> None:
        try:
            outcome["run"] = checkout.run_checkout(
                shop,
                customers=MIXED_BUYERS,
                variant_ids=variants,
                seconds=config.mixed_seconds,
                stock=1000,
                seed=100 + round_number,
                started=started,
            )
        except Exception as error:  # reported below, in this thread
            outcome["error"] = error
            started.set()

    buyers = threading.Thread(target=buy, daemon=True)
    buyers.start()
    if not started.wait(timeout=300):
        raise RuntimeError("the customers did not start buying within 300 s")
    reads_measured = None
    try:
        if "error" not in outcome:
            reads_measured = run_wrk(
                server.base, paths_file, connections=MIXED_READERS, seconds=config.mixed_seconds
            )
    finally:
        buyers.join(timeout=config.mixed_seconds + 4 * checkout.REQUEST_TIMEOUT + 60)
    if "error" in outcome:
        raise RuntimeError(f"checkout failed: {outcome['error']}")
    if "run" not in outcome:
        raise RuntimeError("the customers did not finish")
    after = server.cache_requests()
    settled = settle(config.dsn(server.system))
    run = {
        "system": server.system,
        "round": round_number,
        "seconds": config.mixed_seconds,
        "readers": MIXED_READERS,
        "reads": reads_measured,
        "checkout": outcome["run"],
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "settle_s": settled,
    }
    if before is not None and after is not None:
        delta = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after}
        looked_up = delta.get("hit", 0.0) + delta.get("miss", 0.0)
        run["cache"] = {
            **{key: int(value) for key, value in delta.items()},
            "hit_rate": delta.get("hit", 0.0) / looked_up if looked_up else None,
        }
    return run


# --- Machine and versions ----------------------------------------------------------------------


# The PostgreSQL settings every result file records.
PG_SETTINGS = (
    "shared_buffers",
    "work_mem",
    "max_connections",
    "effective_cache_size",
    "max_parallel_workers_per_gather",
    "jit",
)


def host_info(postgres_dsn: str, pg_settings: tuple[str, ...] = PG_SETTINGS) -> dict:
    """The machine a run measures on: CPU model, cores, memory, kernel, Python, the
    PostgreSQL server's version and `pg_settings` (read through `postgres_dsn`), and the
    load average now. Shared by every bench script (bench/import_export.py too)."""
    cpu = ""
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    memory = ""
    with contextlib.suppress(OSError):
        memory = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    with psycopg.connect(postgres_dsn) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        settings = dict(
            conn.execute(
                "SELECT name, setting || COALESCE(unit, '') FROM pg_settings WHERE name = ANY(%s)",
                [list(pg_settings)],
            ).fetchall()
        )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": pg,
        "postgresql_settings": settings,
        "loadavg_start": os.getloadavg(),
    }


def machine_info(config: Config) -> dict:
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()
    return {**host_info(f"{config.db_url}/postgres"), "wrk": wrk[0] if wrk else ""}


def versions(config: Config) -> dict:
    found = {}
    for system, packages in {
        "storefront": ["Django", "djangorestframework", "gunicorn", "psycopg"],
        "oscar": [
            "django-oscar", "django-oscar-api", "Django", "djangorestframework", "gunicorn",
            "psycopg", "django-treebeard",
        ],
    }.items():  # fmt: skip
        code = (
            "import json, importlib.metadata as m; "
            f"print(json.dumps({{p: m.version(p) for p in {packages!r}}}))"
        )
        try:
            found[system] = json.loads(run_python(config, system, ["-c", code]))
        except (RuntimeError, ValueError) as error:
            found[system] = {"error": str(error)[:300]}
    return found


# --- Main ----------------------------------------------------------------------------------


def main() -> None:
    config = Config()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (make bench installs it: apt-get install -y wrk)")
    RUN_DIR.mkdir(exist_ok=True)
    config.results_dir.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC)
    results: dict = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "settings": config.as_dict(),
        "machine": machine_info(config),
        "versions": versions(config),
    }
    ensure_databases(config)
    migrate(config)
    catalog = Catalog(products=config.products, seed=config.seed)
    targets = {system: config.dsn(system) for system in ("storefront", "oscar", "floor")}
    generation = generate(
        targets, products=config.products, seed=config.seed, reuse=not config.reload
    )
    results["generation"] = generation
    # After the load (which empties the orders), before the cache is invalidated.
    results["checkout_setup"] = checkout_setup(config)
    # After the load (reused or not), before any server: no response cached earlier is served.
    invalidate_storefront_cache(config)
    if config.generate_only:
        log(json.dumps(generation, indent=2, default=str))
        return finish(config, results, started_at, "generate")

    servers = {
        "storefront": Server(config, "storefront", "config.wsgi", config.port),
        "oscar": Server(config, "oscar", "bench.oscar_site.wsgi", config.port + 1),
        "floor": Server(config, "floor", "bench.floor_site.wsgi", config.port + 2),
    }
    if config.uncached:
        servers["storefront_nocache"] = Server(
            config, "storefront_nocache", "config.wsgi", config.port + 3
        )
    try:
        for server in servers.values():
            server.start()
        for server in servers.values():
            server.wait_ready("/")
        log("Servers up: " + ", ".join(f"{s.system} {s.base}" for s in servers.values()))
        plan = build_scenarios(config, servers, catalog)
        results["scenarios"] = [
            {k: v for k, v in e.items() if k not in ("paths", "file")}
            | {"example_path": e["paths"][0], "distinct_paths": len(e["paths"])}
            for e in plan
        ]
        log("Counting queries per request")
        results["queries"] = query_counts(config, plan, servers)
        if config.queries_only:
            return finish(config, results, started_at, "queries")
        log("Load: wrk")
        results["http"] = http_runs(config, servers, plan)
        log("Checkout and oversell race")
        results["checkout"] = checkout_runs(config, servers)
        log("Mixed load: reads during checkout")
        results["mixed"] = mixed_runs(config, servers, plan)
        results["worker_rss_mb"] = {name: s.worker_rss_mb() for name, s in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
    finish(config, results, started_at, "bench")
    incomplete = incomplete_checkouts(results)
    if incomplete:
        raise SystemExit(
            "Checkout runs whose orders lack shipping, tax or the voucher (results written):\n"
            + "\n".join(f"  {line}" for line in incomplete)
        )


def finish(config: Config, results: dict, started_at: datetime, kind: str) -> None:
    """Write KIND-N-TIME.json (in bench/results/) and regenerate docs/performance.md."""
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    out = config.results_dir / f"{kind}-{config.products}-{stamp}.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    log(f"Results: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if config.no_report:
        log("Report: not written (BENCH_NO_REPORT=1)")
        return
    latest = report.latest_bench(config.results_dir)
    if latest:
        report.write(latest, ROOT / "docs" / "performance.md")
        log(f"Report: docs/performance.md (from {latest.name})")


if __name__ == "__main__":
    main()
