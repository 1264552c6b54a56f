"""bench.run's pure parts: database names, system environments, the plan of scenarios."""

import pytest

from bench import run
from bench.catalog import Catalog


@pytest.fixture
def bench_env(monkeypatch):
    for name in ("BENCH_DB_PREFIX", "BENCH_CACHE_URL", "BENCH_UNCACHED", "CATALOG_CACHE_SECONDS",
                 "BENCH_RESULTS_DIR", "BENCH_NO_REPORT", "BENCH_DB_URL"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_default_database_names_and_cache_are_unchanged(bench_env):
    config = run.Config()

    assert config.databases == {
        "storefront": "storefront_bench",
        "oscar": "oscar_bench",
        "floor": "floor_bench",
    }
    assert config.uncached
    assert not config.no_report
    assert config.results_dir == run.RESULTS_DIR.resolve()
    assert run.system_env(config, "storefront")["CATALOG_CACHE_SECONDS"] == "3600"
    assert "CACHE_URL" not in run.system_env(config, "storefront")
    assert config.run_file("floor-gunicorn.log") == run.RUN_DIR / "floor-gunicorn.log"


def test_prefix_names_every_database_and_run_file(bench_env):
    bench_env.setenv("BENCH_DB_PREFIX", "helper_")
    config = run.Config()

    assert config.dsn("storefront").endswith("/helper_storefront_bench")
    assert config.dsn("storefront_nocache").endswith("/helper_storefront_bench")
    assert run.system_env(config, "oscar")["BENCH_OSCAR_DB"] == "helper_oscar_bench"
    assert run.system_env(config, "floor")["BENCH_FLOOR_DB"] == "helper_floor_bench"
    assert config.run_file("paths-detail-storefront.txt").name == (
        "helper_paths-detail-storefront.txt"
    )


def test_prefix_must_be_a_plain_identifier(bench_env):
    bench_env.setenv("BENCH_DB_PREFIX", 'x"; DROP')

    with pytest.raises(SystemExit):
        run.Config()


def test_cache_off_storefront_is_storefront_with_catalog_cache_seconds_zero(bench_env):
    bench_env.setenv("BENCH_CACHE_URL", "redis://127.0.0.1:6379/13")
    bench_env.setenv("CATALOG_CACHE_SECONDS", "60")
    config = run.Config()

    cached = run.system_env(config, "storefront")
    uncached = run.system_env(config, "storefront_nocache")

    assert cached["CATALOG_CACHE_SECONDS"] == "60"
    assert uncached["CATALOG_CACHE_SECONDS"] == "0"
    assert {k: v for k, v in uncached.items() if k != "CATALOG_CACHE_SECONDS"} == {
        k: v for k, v in cached.items() if k != "CATALOG_CACHE_SECONDS"
    }
    assert cached["CACHE_URL"] == "redis://127.0.0.1:6379/13"
    assert run.python_for("storefront_nocache") == run.python_for("storefront")


@pytest.mark.parametrize("system", ["storefront", "storefront_nocache"])
def test_storefront_logs_its_bench_customers_in_without_the_login_rate(bench_env, system):
    env = run.system_env(run.Config(), system)

    assert env["THROTTLE_RATE_LOGIN"] == "none"
    assert env["NUM_PROXIES"] == "0"


class _Server:
    def __init__(self, system: str) -> None:
        self.base = f"http://{system}.invalid"


@pytest.fixture
def sampled(monkeypatch):
    """The catalog's sampled ids and SKUs, without a database."""
    monkeypatch.setattr(run, "sample_ids", lambda config, count: ([1, 2, 3], [4]))
    monkeypatch.setattr(
        run, "sample_skus", lambda config, count: [f"BN-{i:07d}-1" for i in range(1, 26)]
    )


def test_cache_off_storefront_runs_every_read_storefront_runs_in_the_same_rounds(
    bench_env, monkeypatch, sampled
):
    monkeypatch.setattr(run, "get_json", lambda url: (200, {"count": 240}))
    servers = {system: _Server(system) for system in run.SYSTEMS}

    plan = run.build_scenarios(run.Config(), servers, Catalog(products=10))

    def reads(system):
        return {e["scenario"]: e["paths"] for e in plan if e["system"] == system}

    assert reads("storefront_nocache") == reads("storefront")
    assert set(reads("storefront_nocache")) == set(run.UNCACHED_SCENARIOS)
    assert {e["server"] for e in plan if e["system"] == "storefront_nocache"} == {
        "storefront_nocache"
    }
    detail = [e["system"] for e in plan if e["scenario"] == "detail"]
    assert detail == ["storefront", "storefront_nocache", "oscar", "floor"]


def test_without_the_cache_off_server_the_plan_is_unchanged(bench_env, monkeypatch, sampled):
    monkeypatch.setattr(run, "get_json", lambda url: (200, {"count": 240}))
    servers = {system: _Server(system) for system in ("storefront", "oscar", "floor")}

    plan = run.build_scenarios(run.Config(), servers, Catalog(products=10))

    assert {e["system"] for e in plan} == {"storefront", "oscar", "floor", "server_floor"}


def test_facets_and_sku_lookups_are_planned_for_both_storefronts_only(
    bench_env, monkeypatch, sampled
):
    monkeypatch.setattr(run, "get_json", lambda url: (200, {"count": 240}))
    servers = {system: _Server(system) for system in run.SYSTEMS}

    plan = run.build_scenarios(run.Config(), servers, Catalog(products=10))

    def paths(scenario):
        return {e["system"]: e["paths"] for e in plan if e["scenario"] == scenario}

    facets, lookups, products = paths("facets"), paths("sku_variants"), paths("sku_product")
    assert set(facets) == set(lookups) == set(products) == {"storefront", "storefront_nocache"}
    filtered = paths("list_filtered")["storefront"]
    assert [p.replace("/facets/", "/") for p in facets["storefront"]] == filtered
    assert lookups["storefront"][0] == "/api/variants/?sku=" + ",".join(
        f"BN-{i:07d}-1" for i in range(1, 11)
    )
    assert len(lookups["storefront"]) == 3  # 25 SKUs, 10 a request
    assert products["storefront"][:2] == [
        "/api/products/?sku=BN-0000001-1",
        "/api/products/?sku=BN-0000002-1",
    ]


def test_a_scenario_whose_endpoint_does_not_answer_200_is_skipped_with_the_answer(
    bench_env, monkeypatch, sampled
):
    def answers(url):
        if "/api/variants/" in url or "/facets/" in url:
            return 404, '{"error": {"status": 404}}'
        return 200, {"count": 240}

    monkeypatch.setattr(run, "get_json", answers)
    servers = {system: _Server(system) for system in run.SYSTEMS}

    plan = run.build_scenarios(run.Config(), servers, Catalog(products=10))

    skipped = {(e["scenario"], e["system"]): e.get("skipped") for e in plan}
    assert skipped[("facets", "storefront")].startswith("GET /api/products/facets/?category=")
    assert "answered 404" in skipped[("sku_variants", "storefront_nocache")]
    assert skipped[("sku_product", "storefront")] is None
    assert skipped[("list_filtered", "storefront")] is None


def _pages(next_link):
    """get_json of a list of 2,400 products whose page 90 links to `next_link`."""

    def answers(url):
        if "page=90" in url:
            return 200, {"count": 2400, "next": next_link, "results": []}
        return 200, {"count": 2400, "next": "http://x.invalid/api/products/?page=2"}

    return answers


def test_deep_page_is_the_next_link_of_the_page_ninety_percent_through(monkeypatch):
    link = "http://127.0.0.1:8101/api/products/?cursor=cD0yMDI2&page_size=24"
    monkeypatch.setattr(run, "get_json", _pages(link))

    path, info = run.deep_path("http://sf.invalid", "/api/products/")

    assert path == "/api/products/?cursor=cD0yMDI2&page_size=24"
    assert info == {
        "page": 90,
        "count": 2400,
        "page_path": "/api/products/?page=90",
        "via": "next link",
        "link": "cursor",
    }


def test_a_next_link_by_page_number_is_recorded_as_such(monkeypatch):
    link = "http://127.0.0.1:8102/api/products/?page=91&structure=parent"
    monkeypatch.setattr(run, "get_json", _pages(link))

    path, info = run.deep_path("http://oscar.invalid", "/api/products/?structure=parent")

    assert path == "/api/products/?page=91&structure=parent"
    assert (info["page_path"], info["via"], info["link"]) == (
        "/api/products/?structure=parent&page=90",
        "next link",
        "page number",
    )


def test_without_a_next_link_the_deep_page_is_requested_by_number(monkeypatch):
    monkeypatch.setattr(run, "get_json", _pages(None))

    path, info = run.deep_path("http://floor.invalid", "/products/")

    assert path == "/products/?page=90"
    assert (info["via"], info["link"]) == ("page number", None)


def test_the_deep_page_by_number_is_counted_beside_a_cursor_link():
    cursor = {"link": "cursor", "page_path": "/api/products/?page=90"}
    plan = [
        {"scenario": "list_deep", "server": "storefront", "deep_page": cursor},
        {"scenario": "list_deep", "server": "storefront_nocache", "deep_page": cursor},
    ]
    by_number = [{"scenario": "list_deep", "server": "storefront",
                  "deep_page": {**cursor, "link": "page number"}}]  # fmt: skip

    assert run.numbered_deep_page(plan) == [
        {"name": "list_deep_numbered", "path": "/api/products/?page=90"}
    ]
    assert run.numbered_deep_page(by_number) == []


def test_facets_and_sku_lookups_are_measured_in_the_first_extra_rounds_only(
    bench_env, monkeypatch, tmp_path
):
    bench_env.setenv("BENCH_ROUNDS", "3")
    bench_env.setenv("BENCH_EXTRA_ROUNDS", "1")
    bench_env.setenv("BENCH_CONCURRENCY", "8")
    monkeypatch.setattr(run, "RUN_DIR", tmp_path)
    measured = []
    summary = {"rps": 1.0, "p50_ms": 1.0, "p99_ms": 1.0, "non_2xx": 0, "socket_errors": 0}

    def wrk(base, paths_file, *, connections, seconds):
        measured.append(paths_file.name)
        return summary

    monkeypatch.setattr(run, "run_wrk", wrk)
    monkeypatch.setattr(run, "settle", lambda dsn: 0.0)
    monkeypatch.setattr(run, "prime", lambda base, paths, scenario: None)
    plan = [
        {"scenario": scenario, "system": "storefront", "server": "storefront", "paths": ["/"]}
        for scenario in ("list_first", "facets", "sku_variants")
    ]

    results = run.http_runs(run.Config(), {"storefront": _Server("storefront")}, plan)

    rounds = [(r["round"], r["scenario"]) for r in results]
    assert rounds == [
        (1, "list_first"), (1, "facets"), (1, "sku_variants"), (2, "list_first"),
        (3, "list_first"),
    ]  # fmt: skip
    assert len(measured) == 2 * len(rounds)  # a warm-up and a measurement each


def test_storefront_servers_add_up_both_workers_metrics_and_open_them_to_the_bench(
    bench_env, monkeypatch, tmp_path
):
    monkeypatch.setattr(run, "RUN_DIR", tmp_path)
    config = run.Config()

    cached = run.Server(config, "storefront", "config.wsgi", 1)
    uncached = run.Server(config, "storefront_nocache", "config.wsgi", 2)
    oscar = run.Server(config, "oscar", "bench.oscar_site.wsgi", 3)

    assert cached.env["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "metrics-storefront")
    assert uncached.env["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "metrics-storefront_nocache")
    assert cached.env["METRICS_TOKEN"] == run.METRICS_TOKEN
    assert "PROMETHEUS_MULTIPROC_DIR" not in oscar.env
    # Not in the environment of manage.py and querycount, which run one process each.
    assert "PROMETHEUS_MULTIPROC_DIR" not in run.system_env(config, "storefront")


def test_cache_counts_are_read_from_metrics_with_the_token(bench_env):
    import http.server
    import threading

    seen = {}
    body = (
        b"# HELP storefront_catalog_cache_requests_total Catalog reads.\n"
        b"# TYPE storefront_catalog_cache_requests_total counter\n"
        b'storefront_catalog_cache_requests_total{result="hit"} 42.0\n'
        b'storefront_catalog_cache_requests_total{result="miss"} 8.0\n'
        b'storefront_catalog_cache_requests_total{result="bypass"} 0.0\n'
    )

    class Metrics(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen[self.path] = self.headers["Authorization"]
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Metrics)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        server = run.Server(run.Config(), "storefront", "config.wsgi", httpd.server_port)
        counts = server.cache_requests()
    finally:
        httpd.shutdown()

    assert counts == {"hit": 42.0, "miss": 8.0, "bypass": 0.0}
    assert seen == {"/metrics": f"Bearer {run.METRICS_TOKEN}"}


def test_mixed_reads_are_half_filtered_lists_and_half_details():
    plan = [
        {"scenario": "list_filtered", "server": "storefront", "paths": ["/f1", "/f2"]},
        {"scenario": "detail", "server": "storefront", "paths": [f"/d{i}" for i in range(6)]},
        {"scenario": "detail", "server": "oscar", "paths": ["/oscar"]},
    ]

    reads = run.mixed_paths(plan)

    assert sorted(reads) == sorted(["/f1", "/f2"] * 3 + [f"/d{i}" for i in range(6)])


@pytest.mark.django_db(transaction=True)
def test_settle_cancels_the_queries_left_running_and_waits_for_quiet():
    import threading
    import time

    import psycopg
    from django.db import connection

    from storefront.core.servers import database_url_of

    dsn = database_url_of(connection.settings_dict)
    outcome = {}

    def abandoned_request():
        with psycopg.connect(dsn, autocommit=True) as conn:
            try:
                conn.execute("SELECT pg_sleep(60)")
                outcome["error"] = None
            except psycopg.errors.QueryCanceled as error:
                outcome["error"] = error

    worker = threading.Thread(target=abandoned_request)
    worker.start()
    with psycopg.connect(dsn, autocommit=True) as conn:
        deadline = time.monotonic() + 10
        running = "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'"
        while not conn.execute(running).fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.05)

    seconds = run.settle(dsn, quiet_checks=2)
    worker.join(timeout=10)

    assert isinstance(outcome.get("error"), psycopg.errors.QueryCanceled)
    assert seconds < 10
    assert run.settle(dsn, quiet_checks=2) < 2
