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


def test_cache_off_storefront_runs_every_read_storefront_runs_in_the_same_rounds(
    bench_env, monkeypatch
):
    monkeypatch.setattr(run, "sample_ids", lambda config, count: ([1, 2, 3], [4]))
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


def test_without_the_cache_off_server_the_plan_is_unchanged(bench_env, monkeypatch):
    monkeypatch.setattr(run, "sample_ids", lambda config, count: ([1, 2, 3], [4]))
    monkeypatch.setattr(run, "get_json", lambda url: (200, {"count": 240}))
    servers = {system: _Server(system) for system in ("storefront", "oscar", "floor")}

    plan = run.build_scenarios(run.Config(), servers, Catalog(products=10))

    assert {e["system"] for e in plan} == {"storefront", "oscar", "floor", "server_floor"}


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
