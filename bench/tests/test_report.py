"""bench.report on small synthetic results: with and without Storefront's cache-off runs."""

import json

import pytest

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


def _target_rows(results: dict, **kwargs) -> dict[str, tuple[str, str]]:
    table = report.http_table(results)
    rows = report.targets(results, table, {}, {}, **kwargs)
    return {label: (measured, met) for label, measured, met in rows}


def test_cache_off_targets_of_another_size_show_the_measure_without_a_verdict(tmp_path):
    text = _render(tmp_path, _results(nocache=True))

    lines = text.splitlines()
    assert "| Product list ≥ 2x Oscar's (c=8) | 9.00x | yes |" in lines
    assert (
        "| Cache off: filtered list p99 < 50 ms at 1M (c=8) "
        "| p99 120.0 ms at 1,000 products | n/a: a 1,000,000-product target |"
    ) in lines
    assert "| Cache off: search p99 < 100 ms at 1M (c=8) | not measured | n/a |" in lines
    assert (
        "| Cache off: product list ≥ 2x Oscar's at 10k (c=8) | 0.50x "
        "| n/a: a 10,000-product target |"
    ) in lines


def test_cache_off_targets_get_a_verdict_at_one_million():
    results = _results(products=1_000_000, nocache=True)
    results["http"] += [
        _http("facets", "storefront_nocache", 100, p99=140),
        _http("list_deep", "storefront_nocache", 100, p99=101),
    ]

    rows = _target_rows(results)

    assert rows["Filtered list p99 < 50 ms at 1M (c=8)"][1] == "yes"
    assert rows["Cache off: filtered list p99 < 50 ms at 1M (c=8)"][1] == "**no**"
    assert rows["Cache off: facets p99 < 150 ms at 1M (c=8)"][1] == "yes"
    assert rows["Cache off: deep page p99 < 100 ms at 1M (c=8)"][1] == "**no**"
    assert rows["Cache off: detail ≥ 5x Oscar's at 1M (c=8)"] == ("2.50x", "**no**")


def test_cache_off_list_targets_get_a_verdict_at_ten_thousand():
    results = _results(products=10_000, nocache=True)

    rows = _target_rows(results)

    assert rows["Cache off: product list ≥ 1x the DRF floor at 10k (c=8)"] == ("0.25x", "**no**")
    assert rows["Cache off: product list ≥ 2x Oscar's at 10k (c=8)"] == ("0.50x", "**no**")
    assert rows["Cache off: detail ≥ 5x Oscar's at 1M (c=8)"][1].startswith("n/a")


def test_cached_list_is_compared_with_the_baseline_run(tmp_path):
    baseline = _results(products=10_000, nocache=False)
    baseline["http"] = [
        _http("list_first", "storefront", 615),
        _http("list_first", "oscar", 100),
    ]
    (tmp_path / report.BASELINE_10K).write_text(json.dumps(baseline))
    label = f"Cached product list Storefront/Oscar at 10k (c=8) no worse than {report.BASELINE_10K}"

    ratio = report.baseline_ratio(tmp_path)
    better = _target_rows(_results(products=10_000, nocache=True), baseline=ratio)
    missing = _target_rows(_results(products=10_000, nocache=True))

    assert ratio == 6.15
    assert better[label] == ("9.00x against 6.15x", "yes")
    assert missing[label] == ("9.00x; the baseline file is not here", "n/a")


def test_query_counts_must_match_between_ten_thousand_and_one_million():
    label = "Queries per request the same at 10k and 1M: lists, facets, detail, SKU lookups"
    counts = dict.fromkeys(report.CONSTANT_QUERIES, 4)

    same = report.constant_queries_row({10_000: counts, 1_000_000: counts})
    grown = report.constant_queries_row({10_000: counts, 1_000_000: {**counts, "facets": 5}})
    partial = report.constant_queries_row(
        {10_000: counts, 1_000_000: {k: v for k, v in counts.items() if k != "sku_variants"}}
    )
    one_size = report.constant_queries_row({10_000: counts})

    assert same[0] == label and same[2] == "yes"
    assert "list_first 4 → 4" in same[1]
    assert grown[2] == "**no**" and "facets 4 → 5" in grown[1]
    assert partial[2] == "n/a" and partial[1].endswith("not counted: sku_variants")
    assert one_size[1:] == ("sizes measured: 10,000", "n/a")


def _mixed(system: str, *, hits: int | None, misses: int = 0, bypass: int = 0) -> dict:
    run = {
        "system": system, "round": 1, "seconds": 3, "readers": 8,
        "reads": {"rps": 400.0, "p50_ms": 10.0, "p99_ms": 40.0, "non_2xx": 0,
                  "socket_errors": 0},
        "checkout": {"orders_per_s": 50.0, "checkout_p50_ms": 60.0, "checkout_p99_ms": 90.0,
                     "orders": 150, "server_errors": 0, "oversold_units": 0,
                     "stock_mismatch_variants": 0},
    }  # fmt: skip
    if hits is not None:
        run["cache"] = {"hit": hits, "miss": misses, "bypass": bypass}
    return run


def test_mixed_load_table_shows_reads_orders_and_the_cache_hit_rate(tmp_path):
    results = _results(nocache=True)
    results["settings"]["mixed_seconds"] = 3
    results["mixed"] = {
        "runs": [
            _mixed("storefront", hits=900, misses=100),
            _mixed("storefront_nocache", hits=0, bypass=1200),
        ],
        "skipped": {},
    }

    text = _render(tmp_path, results)

    section = text.split("### Reads during checkout (mixed load)", 1)[1].split("###", 1)[0]
    assert "| Storefront | 400 | 10.0 | 40.0 | 0 | 50.0 | 60.0 | 90.0 | 150 | 0 | 0 | 0 " in section
    assert "| 90.0% (900 hits, 100 misses) |" in section
    assert "| Storefront, cache off | 400 |" in section
    assert "| cache off (1,200 bypasses) |" in section


def test_new_read_scenarios_and_the_deep_page_link_are_reported(tmp_path):
    results = _results(nocache=True)
    results["http"] += [
        _http("facets", "storefront", 700),
        _http("facets", "storefront_nocache", 90),
        _http("sku_variants", "storefront_nocache", 300),
    ]
    cursor = {"page": 37, "count": 960, "via": "next link", "link": "cursor"}
    results["scenarios"] = [
        {"scenario": "list_deep", "system": "storefront", "deep_page": cursor},
        {"scenario": "list_deep", "system": "oscar",
         "deep_page": {**cursor, "link": "page number"}},
        {"scenario": "sku_product", "system": "storefront",
         "skipped": "GET /api/variants/?sku=A answered 404: ..."},
    ]  # fmt: skip

    text = _render(tmp_path, results)

    assert "| facet counts of the filtered list | 700 |" in text
    assert "| facet counts of the filtered list | 90 | 10.0 | 20.0 | - | - |" in text
    assert "| SKU lookup, 10 variants (/api/variants/?sku=) | 300 |" in text
    assert (
        "Deep page: page 37 (90 % of 960 products) was fetched once by number, then the page "
        "a client holds from there was measured: Storefront: its `next` link, a keyset cursor; "
        "Oscar API: its `next` link, by page number."
    ) in text
    assert "- sku_product on Storefront: GET /api/variants/?sku=A answered 404" in text


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


def test_counts_and_plans_of_an_older_generator_are_left_out(tmp_path):
    older = _results(products=5000, nocache=False)
    older["generation"] = {"products": 5000, "generator": 2}
    older["queries"]["storefront"]["explain"] = {"list_first": [{"sql": "SELECT 2", "plan": ""}]}
    (tmp_path / "queries-5000-20261120T000000Z.json").write_text(json.dumps(older))
    current = _results(nocache=True)
    current["generation"] = {"products": 1000, "generator": 3}

    text = _render(tmp_path, current)

    assert "| request | Storefront 1,000 | Oscar API 1,000 |" in text
    assert "loaded by the same generator (version 3)" in text
    assert "SELECT 2" not in text


def test_targets_of_the_other_size_are_judged_on_its_newest_run(tmp_path):
    million = _results(products=1_000_000, nocache=True)
    million["generation"] = {"products": 1_000_000, "generator": 3}
    million["http"].append(_http("list_deep", "storefront_nocache", 100, p99=80))
    (tmp_path / "bench-1000000-20261203T000000Z.json").write_text(json.dumps(million))
    older = dict(million, generation={"products": 1_000_000, "generator": 2})
    (tmp_path / "bench-1000000-20261101T000000Z.json").write_text(json.dumps(older))
    current = _results(products=10_000, nocache=True)
    current["generation"] = {"products": 10_000, "generator": 3}

    text = _render(tmp_path, current)

    lines = text.splitlines()
    assert (
        "| Cache off: deep page p99 < 100 ms at 1M (c=8) "
        "| p99 80.0 ms at 1,000,000 products (bench-1000000-20261203T000000Z.json) | yes |"
    ) in lines
    assert (
        "| Cache off: detail ≥ 5x Oscar's at 1M (c=8) "
        "| 2.50x (bench-1000000-20261203T000000Z.json) | **no** |"
    ) in lines
    assert "| Cache off: product list ≥ 2x Oscar's at 10k (c=8) | 0.50x | **no** |" in lines


# --- What each checkout included (shipping method, tax, voucher) ---------------------------


def _checkout_run(system: str, customers: int, orders_per_s: float, extras: dict | None) -> dict:
    run = {
        "system": system, "customers": customers, "round": 1, "orders_per_s": orders_per_s,
        "checkout_p50_ms": 50.0, "checkout_p99_ms": 90.0, "add_p50_ms": 20.0,
        "server_errors": 0, "oversold_units": 0, "stock_mismatch_variants": 0, "orders": 100,
        "statuses": {"checkout 201": 100},
    }  # fmt: skip
    if extras is not None:
        held = {"orders": 100, "shipping": 100, "tax": 100, "voucher": 100, **extras}
        run["extras"] = held
        run["extras_complete"] = all(held[k] == 100 for k in ("shipping", "tax", "voucher"))
    return run


def _with_checkout(*, sf_extras: dict | None, oscar_extras: dict | None) -> dict:
    from bench import checkout

    race = {
        "system": "storefront", "buyers": 20, "start_stock": 10, "orders": 10,
        "checkout_statuses": {"201": 10, "409": 10}, "stock_left": 0, "oversold_units": 0,
    }  # fmt: skip
    results = _results(nocache=False)
    results["checkout"] = {
        "runs": [
            _checkout_run("storefront", 8, 90.0, sf_extras),
            _checkout_run("oscar", 8, 25.0, oscar_extras),
        ],
        "race": [race],
        "skipped": {},
    }
    if sf_extras is not None:
        race["extras"] = {"orders": 10, "shipping": 10, "tax": 10, "voucher": 10}
        race["extras_complete"] = True
        results["checkout"]["includes"] = checkout.INCLUDES
    return results


def _checkout_targets(results: dict) -> dict[str, tuple[str, str]]:
    rows = report.targets(results, report.http_table(results), report.checkout_table(results), {})
    return {label: (measured, met) for label, measured, met in rows if "Checkout" in label}


def _checkout_section(text: str) -> str:
    return text.split("### Checkout (orders/s) and oversells", 1)[1].split("### SQL", 1)[0]


def test_report_says_what_each_checkout_included_and_that_every_order_held_it(tmp_path):
    results = _with_checkout(sf_extras={}, oscar_extras={})

    text = _render(tmp_path, results)

    section = _checkout_section(text)
    assert "- **Storefront**: shipping: method bench-standard" in section
    assert "voucher: BENCH10, 10 % off" in section
    assert "- **Oscar API**: shipping: method bench-standard (Oscar FixedPrice 4.99" in section
    assert "POST /api/basket/add-voucher/" in section
    assert "| stock mismatches | shipping / tax / voucher |" in section
    assert "| Storefront | 8 | 90.0 | 50.0 | 90.0 | 20.0 | 100 | 0 | 0 | 0 | 100 / 100 / 100 " in (
        section
    )
    assert "| 10 / 10 / 10 of 10 |" in section  # the race
    assert "Warning" not in section
    rows = _checkout_targets(results)
    label = next(k for k in rows if k.startswith("Checkout with shipping, tax and a voucher"))
    assert rows[label] == (
        "3.60x, 0 oversold, 0 5xx; shipping / tax / voucher: Storefront 100 / 100 / 100 of "
        "100, Oscar 100 / 100 / 100 of 100",
        "yes",
    )


@pytest.mark.parametrize("who", ["storefront", "oscar"])
def test_orders_without_the_voucher_are_flagged_and_fail_the_checkout_target(tmp_path, who):
    missing = {"voucher": 60}
    results = _with_checkout(
        sf_extras=missing if who == "storefront" else {},
        oscar_extras=missing if who == "oscar" else {},
    )

    text = _render(tmp_path, results)

    section = _checkout_section(text)
    assert "> **Warning: not every order held shipping, tax and the voucher**" in section
    assert "**100 / 100 / 60 of 100: not every order**" in section
    rows = _checkout_targets(results)
    label = next(k for k in rows if k.startswith("Checkout with shipping, tax and a voucher"))
    assert rows[label][1] == "**no**"  # 3.6x, but not of the checkout the target names


def test_checkout_results_recorded_before_the_check_render_as_before(tmp_path):
    results = _with_checkout(sf_extras=None, oscar_extras=None)

    text = _render(tmp_path, results)

    section = _checkout_section(text)
    assert "shipping / tax / voucher" not in section
    assert "Every order is placed with" not in section
    assert "| Storefront | 8 | 90.0 | 50.0 | 90.0 | 20.0 | 100 | 0 | 0 | 0 |\n" in section
    rows = _checkout_targets(results)
    assert rows["Checkout ≥ 3x Oscar's orders/s, 0 oversells, 0 5xx (8 customers)"] == (
        "3.60x, 0 oversold, 0 5xx",
        "yes",
    )


def test_mixed_load_table_counts_the_orders_with_shipping_tax_and_voucher(tmp_path):
    results = _results(nocache=True)
    results["settings"]["mixed_seconds"] = 3
    run = _mixed("storefront", hits=900, misses=100)
    run["checkout"]["extras"] = {"orders": 150, "shipping": 150, "tax": 150, "voucher": 150}
    run["checkout"]["extras_complete"] = True
    results["mixed"] = {"runs": [run], "skipped": {}}

    text = _render(tmp_path, results)

    section = text.split("### Reads during checkout (mixed load)", 1)[1].split("###", 1)[0]
    assert "| cache hit rate | shipping / tax / voucher |" in section
    assert "| 90.0% (900 hits, 100 misses) | 150 / 150 / 150 of 150 |" in section
