"""bench.report on small synthetic results: with and without Storefront's cache-off runs."""

import json

from bench import report

SETTINGS = {
    "products": 1000, "seed": 1, "rounds": 1, "duration": 2, "warmup": 1, "concurrency": [8],
    "checkout_seconds": 3, "checkout_customers": [8], "race_buyers": 20, "race_stock": 10,
    "page_size": 24, "gunicorn": {"workers": 2, "worker_class": "sync"},
}  # fmt: skip


def _http(scenario: str, system: str, rps: float, p99: float = 20.0) -> dict:
    return {
        "scenario": scenario, "system": system, "concurrency": 8, "round": 1, "requests": 100,
        "rps": rps, "p50_ms": p99 / 2, "p90_ms": p99 / 1.5, "p99_ms": p99, "max_ms": p99,
        "non_2xx": 0, "socket_errors": 0, "loadavg_1m": 1.0,
    }  # fmt: skip


def _results(*, products: int = 1000, nocache: bool) -> dict:
    http = [
        _http("list_first", "storefront", 900),
        _http("list_first", "oscar", 100),
        _http("list_first", "floor", 200),
        _http("list_filtered", "storefront", 800, p99=5),
        _http("detail", "storefront", 1000),
        _http("detail", "oscar", 50),
        _http("detail", "floor", 400),
    ]
    queries = {
        "storefront": {"requests": {"list_first": {"path": "/api/products/", "status": 200,
                                                   "queries": 6}}}
    }  # fmt: skip
    rss = {"storefront": [80.0, 81.0]}
    if nocache:
        http += [
            _http("list_first", "storefront_nocache", 50),
            _http("list_filtered", "storefront_nocache", 20, p99=120),
            _http("detail", "storefront_nocache", 125),
        ]
        queries["storefront"]["cached_hit_queries"] = {"list_first": 0, "detail": 0}
        rss["storefront_nocache"] = [79.0, 80.0]
    return {
        "started_at": "2026-11-21T07:00:00+00:00",
        "finished_at": "2026-11-21T07:01:00+00:00",
        "settings": dict(SETTINGS, products=products),
        "machine": {},
        "versions": {},
        "http": http,
        "queries": queries,
        "worker_rss_mb": rss,
    }


def _render(tmp_path, results: dict) -> str:
    name = f"bench-{results['settings']['products']}-20261121T070000Z.json"
    (tmp_path / name).write_text(json.dumps(results))
    return report.render(results, name, tmp_path)


def test_results_without_the_cache_off_system_render_as_before(tmp_path):
    text = _render(tmp_path, _results(nocache=False))

    assert "cache off" not in text
    assert "CATALOG_CACHE_SECONDS" not in text
    assert "cache hit" not in text
    assert "| Product list ≥ 2x Oscar's (c=8) | 9.00x | yes |" in text


def test_cache_off_table_follows_the_reads_table(tmp_path):
    text = _render(tmp_path, _results(nocache=True))

    section = text.split("### Reads at concurrency 8", 1)[1].split("###", 1)[0]
    main, nocache = section.split(
        "**Storefront with the response cache off (CATALOG_CACHE_SECONDS=0)**"
    )
    assert "| product list, page 1 | 900 |" in main
    assert "| scenario | req/s | p50 ms | p99 ms | cache-off/Oscar | cache-off/floor |" in nocache
    assert "| product list, page 1 | 50 | 10.0 | 20.0 | 0.50x | 0.25x |" in nocache
    # Only Storefront runs the filtered list: no ratio to the others.
    assert "| filtered list (category tree + price + in stock) | 20 | 60.0 | 120.0 | - | - |" in (
        nocache
    )
    assert "| product detail (random ids) | 125 | 10.0 | 20.0 | 2.50x | 0.31x |" in nocache
    assert "- Storefront, cache off: 79 MB, 80 MB" in text


def test_cache_off_targets_are_informational_rows_after_each_target(tmp_path):
    text = _render(tmp_path, _results(nocache=True))

    lines = text.splitlines()
    cached = lines.index("| Product list ≥ 2x Oscar's (c=8) | 9.00x | yes |")
    assert lines[cached + 1] == (
        "| Product list ≥ 2x Oscar's (c=8) (cache off, informational) | 0.50x | **no** |"
    )
    assert "| Detail ≥ 5x Oscar's (c=8) (cache off, informational) | 2.50x | **no** |" in lines
    assert (
        "| Filtered list p99 < 50 ms at 1M (c=8) (cache off, informational) "
        "| p99 120.0 ms at 1,000 products | not at 1M yet |"
    ) in lines
    assert (
        "| Search p99 < 100 ms at 1M (c=8) (cache off, informational) | not measured | n/a |"
    ) in lines


def test_cache_off_targets_get_a_verdict_at_one_million():
    results = _results(products=1_000_000, nocache=True)
    table = report.http_table(results)

    rows = {label: met for label, _, met in report.targets(results, table, {}, {})}

    assert rows["Filtered list p99 < 50 ms at 1M (c=8)"] == "yes"
    assert rows["Filtered list p99 < 50 ms at 1M (c=8) (cache off, informational)"] == "**no**"


def test_query_counts_say_they_are_a_cache_miss_and_show_the_cache_hit(tmp_path):
    text = _render(tmp_path, _results(nocache=True))

    section = text.split("### SQL queries per request", 1)[1].split("###", 1)[0]
    assert "counts are for a cache miss; a cache hit of the list or detail runs no query" in (
        section
    )
    assert "| product list, page 1 | 6 | - | - |" in section
    assert (
        "a second identical request (a cache hit): product list, page 1: 0 queries; "
        "product detail (random ids): 0 queries."
    ) in section


def test_cache_hit_that_queries_is_not_called_free(tmp_path):
    results = _results(nocache=True)
    results["queries"]["storefront"]["cached_hit_queries"] = {"list_first": 0, "detail": 2}

    text = _render(tmp_path, results)

    assert "runs no query" not in text
    assert "product detail (random ids): 2 queries." in text


def test_report_reads_the_other_results_beside_the_rendered_file(tmp_path):
    older = _results(nocache=False)
    older["settings"]["products"] = 5000
    (tmp_path / "queries-5000-20261120T000000Z.json").write_text(json.dumps(older))

    text = _render(tmp_path, _results(nocache=True))

    assert "| request | Storefront 1,000 | Storefront 5,000 |" in text
    assert report.latest_bench(tmp_path).name == "bench-1000-20261121T070000Z.json"
