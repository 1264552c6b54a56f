"""Render bench/results/*.json as the generated part of docs/performance.md.

    python -m bench.report [RESULTS.json]   (default: the newest bench-*.json)

Only the text between the `<!-- bench:begin -->` and `<!-- bench:end -->` markers is replaced;
the hand-written analysis around it stays. Numbers are medians over the rounds of one run.
The tables gathered over several runs (Storefront's query counts per catalog size, catalog
generation, EXPLAIN) read the result files in the same directory as RESULTS.json.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from bench.checkout import EXTRAS, incomplete_runs

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
SYSTEMS = ["storefront", "oscar", "floor"]
# Storefront served with its response cache off (CATALOG_CACHE_SECONDS=0); absent from results
# written before it was measured (and with BENCH_UNCACHED=0).
NOCACHE = "storefront_nocache"
LABELS = {
    "storefront": "Storefront",
    NOCACHE: "Storefront, cache off",
    "oscar": "Oscar API",
    "floor": "DRF floor",
    "server_floor": "constant JSON",
}
SCENARIOS = {
    "list_first": "product list, page 1",
    "list_deep": "product list, deep page (90%)",
    "list_deep_numbered": "product list, deep page (90%) by number (?page=N)",
    "list_filtered": "filtered list (category tree + price + in stock)",
    "facets": "facet counts of the filtered list",
    "search": "search",
    "sku_variants": "SKU lookup, 10 variants (/api/variants/?sku=)",
    "sku_product": "SKU lookup, product (/api/products/?sku=)",
    "detail": "product detail (random ids)",
    "constant": "server floor: constant JSON",
}
# The last full 10k run before issue 13: its cached list ratio to Oscar is the bar.
BASELINE_10K = "bench-10000-20261202T054600Z.json"
# Requests whose query count must not grow with the catalog (issue 13).
CONSTANT_QUERIES = [
    "list_first", "list_deep", "list_filtered", "facets", "detail", "sku_variants", "sku_product",
]  # fmt: skip


def _median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "-"
    return f"{a / b:.2f}x"


def http_table(results: dict) -> dict:
    """{(scenario, system, concurrency): {rps, p50_ms, p99_ms, non_2xx}} medians over rounds."""
    grouped: dict = defaultdict(list)
    for run in results.get("http", []):
        grouped[(run["scenario"], run["system"], run["concurrency"])].append(run)
    table = {}
    for key, runs in grouped.items():
        table[key] = {
            "rps": _median([r["rps"] for r in runs]),
            "p50_ms": _median([r["p50_ms"] for r in runs]),
            "p99_ms": _median([r["p99_ms"] for r in runs]),
            "non_2xx": sum(r["non_2xx"] + r["socket_errors"] for r in runs),
            "rounds": len(runs),
        }
    return table


def checkout_table(results: dict) -> dict:
    grouped: dict = defaultdict(list)
    for run in results.get("checkout", {}).get("runs", []):
        grouped[(run["system"], run["customers"])].append(run)
    return {
        key: {
            "orders_per_s": _median([r["orders_per_s"] for r in runs]),
            "checkout_p50_ms": _median([r["checkout_p50_ms"] for r in runs]),
            "checkout_p99_ms": _median([r["checkout_p99_ms"] for r in runs]),
            "add_p50_ms": _median([r["add_p50_ms"] for r in runs]),
            "server_errors": sum(r["server_errors"] for r in runs),
            "oversold_units": sum(r["oversold_units"] for r in runs),
            "stock_mismatch_variants": sum(r["stock_mismatch_variants"] for r in runs),
            "orders": sum(r["orders"] for r in runs),
            "statuses": runs[-1]["statuses"],
            "extras": extras_sum(runs),
        }
        for key, runs in grouped.items()
    }


def extras_sum(runs: list[dict]) -> dict | None:
    """The runs' orders and how many held shipping, tax and the voucher, summed, with
    `complete` (every run's orders all did); None if no run was checked (older results)."""
    checked = [r for r in runs if "extras" in r]
    if not checked:
        return None
    total = {key: sum(r["extras"].get(key, 0) for r in checked) for key in ("orders", *EXTRAS)}
    return {**total, "complete": all(r.get("extras_complete") for r in checked)}


def _extras_cell(extras: dict | None) -> str:
    """`shipping / tax / voucher of orders`, flagged when not every order held all three."""
    if extras is None:
        return "-"
    cell = " / ".join(str(extras[key]) for key in EXTRAS) + f" of {extras['orders']}"
    return cell if extras["complete"] else f"**{cell}: not every order**"


def includes_section(w, results: dict) -> None:
    """What each system's checkout was placed with (shipping method, tax, voucher), and a
    warning naming the runs whose orders did not all hold them."""
    includes = (results.get("checkout") or {}).get("includes")
    if includes:
        w("Every order is placed with a shipping method, tax and a voucher:\n")
        for system, parts in includes.items():
            w(
                f"- **{LABELS.get(system, system)}**: "
                + "; ".join(f"{part}: {parts[part]}" for part in ("shipping", "tax", "voucher"))
                + "."
            )
        w(
            "\nAfter each run the orders it placed are counted in the system's database: the "
            "column *shipping / tax / voucher* says how many of them were charged the "
            "shipping method, charged tax, and took the voucher.\n"
        )
    missing = incomplete_runs(results)
    if missing:
        w(
            "> **Warning: not every order held shipping, tax and the voucher** in "
            + "; ".join(
                f"{LABELS.get(r['system'], r['system'])} "
                f"({r.get('customers') or r.get('buyers')} customers: "
                f"{_extras_cell({**r['extras'], 'complete': False})})"
                for r in missing
            )
            + ". Those runs do not measure the checkout the targets name.\n"
        )


def other_results(results_dir: Path = RESULTS_DIR) -> list[dict]:
    found = []
    for path in sorted(results_dir.glob("*.json"), key=lambda p: p.stem.rsplit("-", 1)[-1]):
        try:
            data = json.loads(path.read_text())
        except ValueError:
            continue
        data["_file"] = path.name
        found.append(data)
    return found


def render(results: dict, result_name: str, results_dir: Path = RESULTS_DIR) -> str:
    settings = results["settings"]
    machine = results["machine"]
    out: list[str] = []
    w = out.append
    w(f"Generated by `make bench` from `bench/results/{result_name}`.\n")
    w(
        f"- **Run**: {results['started_at']} → {results.get('finished_at', '?')}, "
        f"{settings['products']:,} products, page size {settings['page_size']}, "
        f"gunicorn {settings['gunicorn']['workers']} {settings['gunicorn']['worker_class']} "
        f"workers per system, wrk {settings['duration']} s per measurement after a "
        f"{settings['warmup']} s warm-up, {settings['rounds']} "
        f"round{'' if settings['rounds'] == 1 else 's'} alternating the systems; "
        f"numbers are medians over the rounds" + _extra_rounds_note(settings) + "."
    )
    w(
        f"- **Machine**: {machine.get('cpu')}, {machine.get('cores')} cores, "
        f"{machine.get('memory')}, Linux {machine.get('kernel')}, Python {machine.get('python')}, "
        f"PostgreSQL {machine.get('postgresql')}, {machine.get('wrk')}; load average "
        f"{_loads(machine.get('loadavg_start'))} at the start, "
        f"{_loads(machine.get('loadavg_end'))} at the end."
    )
    versions = results.get("versions", {})
    w(
        "- **Versions**: "
        + "; ".join(
            f"{system}: " + ", ".join(f"{k} {v}" for k, v in found.items())
            for system, found in versions.items()
        )
    )
    w("")

    table = http_table(results)
    for concurrency in settings["concurrency"]:
        w(f"### Reads at concurrency {concurrency}\n")
        w(
            "| scenario | Storefront req/s | p50 ms | p99 ms | Oscar req/s | p50 | p99 "
            "| DRF floor req/s | p50 | p99 | SF/Oscar | SF/floor |"
        )
        w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for scenario, label in SCENARIOS.items():
            if scenario == "constant":
                continue
            cells = {s: table.get((scenario, s, concurrency)) for s in SYSTEMS}
            if not any(cells.values()):
                continue
            row = [label]
            for system in SYSTEMS:
                cell = cells[system]
                if cell:
                    flag = f" ({cell['non_2xx']} errors)" if cell["non_2xx"] else ""
                    row += [
                        _fmt(cell["rps"]) + flag,
                        _fmt(cell["p50_ms"], 1),
                        _fmt(cell["p99_ms"], 1),
                    ]
                else:
                    row += ["-", "-", "-"]
            sf = (cells["storefront"] or {}).get("rps")
            row.append(_ratio(sf, (cells["oscar"] or {}).get("rps")))
            row.append(_ratio(sf, (cells["floor"] or {}).get("rps")))
            w("| " + " | ".join(row) + " |")
        constant = table.get(("constant", "server_floor", concurrency))
        if constant:
            w(
                f"\nServer floor (constant JSON, same gunicorn): {_fmt(constant['rps'])} req/s, "
                f"p50 {_fmt(constant['p50_ms'], 1)} ms, p99 {_fmt(constant['p99_ms'], 1)} ms."
            )
            first = table.get(("list_first", "storefront", concurrency))
            if first and first["rps"]:
                w(
                    f"Storefront's page-1 list runs at {first['rps'] / constant['rps']:.0%} of "
                    "the server floor."
                )
        nocache_table(w, table, concurrency)
        w("")

    deep = deep_page_note(results)
    if deep:
        w(deep + "\n")

    skipped = [s for s in results.get("scenarios", []) if s.get("skipped")]
    if skipped:
        w("Not measured (the endpoint did not answer 200 when the run started):\n")
        for entry in skipped:
            w(f"- {entry['scenario']} on {LABELS.get(entry['system'], entry['system'])}: "
              f"{entry['skipped']}")  # fmt: skip
        w("")

    w("### Checkout (orders/s) and oversells\n")
    includes_section(w, results)
    checkout = checkout_table(results)
    if checkout:
        checked = any(row["extras"] is not None for row in checkout.values())
        w(
            "| system | customers | orders/s | checkout p50 ms | p99 ms | add-to-cart p50 ms "
            "| orders | 5xx | oversold units | stock mismatches |"
            + (" shipping / tax / voucher |" if checked else "")
        )
        w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|" + ("---|" if checked else ""))
        for (system, customers), row in sorted(checkout.items()):
            w(
                f"| {LABELS[system]} | {customers} | {_fmt(row['orders_per_s'], 1)} "
                f"| {_fmt(row['checkout_p50_ms'], 1)} | {_fmt(row['checkout_p99_ms'], 1)} "
                f"| {_fmt(row['add_p50_ms'], 1)} | {row['orders']} | {row['server_errors']} "
                f"| {row['oversold_units']} | {row['stock_mismatch_variants']} |"
                + (f" {_extras_cell(row['extras'])} |" if checked else "")
            )
        if (results.get("checkout") or {}).get("includes"):
            w(
                "\nOscar's checkout latency includes its `POST /api/basket/add-voucher/` "
                "(the voucher cannot be sent with the order)."
            )
        for customers in settings["checkout_customers"]:
            sf = checkout.get(("storefront", customers), {}).get("orders_per_s")
            oscar = checkout.get(("oscar", customers), {}).get("orders_per_s")
            if sf and oscar:
                w(f"\nStorefront/Oscar orders/s with {customers} customers: {_ratio(sf, oscar)}.")
        w("")
    for system, reason in results.get("checkout", {}).get("skipped", {}).items():
        w(f"- Checkout not measured on {LABELS.get(system, system)}: {reason}")
    races = results.get("checkout", {}).get("race", [])
    if races:
        w("\n**Oversell race**: buyers each holding one unit of the same variant place their "
          "orders at the same instant.\n")  # fmt: skip
        checked = any("extras" in race for race in races)
        w(
            "| system | buyers | stock | orders | checkout statuses | stock left | oversold |"
            + (" shipping / tax / voucher |" if checked else "")
        )
        w("|---|--:|--:|--:|---|--:|--:|" + ("---|" if checked else ""))
        for race in races:
            statuses = ", ".join(f"{k}: {v}" for k, v in race["checkout_statuses"].items())
            w(
                f"| {LABELS[race['system']]} | {race['buyers']} | {race['start_stock']} "
                f"| {race['orders']} | {statuses} | {race['stock_left']} "
                f"| {race['oversold_units']} |"
                + (f" {_extras_cell(extras_sum([race]))} |" if checked else "")
            )
        w("")

    mixed_section(w, results)

    w("### SQL queries per request\n")
    queries = results.get("queries", {})
    hits = queries.get("storefront", {}).get("cached_hit_queries")
    cache_note = ""
    if hits is not None:
        cache_note = (
            " Storefront's are counted with its response cache off (CATALOG_CACHE_SECONDS=0): "
            "counts are for a cache miss; "
            + (
                "a cache hit of the list or detail runs no query."
                if not any(hits.values())
                else "the queries of a cache hit are below the table."
            )
        )
    w(
        "Counted in-process with one request at a time (not under load), after a warm-up "
        "request; the checkout steps are those of a customer's second purchase. Storefront's "
        "counts come from the newest result file of each catalog size"
        + (
            f" loaded by the same generator (version {_generator(results)})"
            if _generator(results) is not None
            else ""
        )
        + f".{cache_note}\n"
    )
    sizes = query_counts_by_size(results_dir, _generator(results))
    names: list[str] = []
    for counts in [*(queries.get(s, {}).get("requests", {}) for s in SYSTEMS), *sizes.values()]:
        names += [name for name in counts if name not in names]
    # Reads in the order of SCENARIOS, then the checkout steps as counted.
    order = list(SCENARIOS)
    names.sort(key=lambda name: order.index(name) if name in order else len(order))
    size_list = sorted(sizes)
    w(
        "| request | "
        + " | ".join(f"Storefront {size:,}" for size in size_list)
        + f" | Oscar API {settings['products']:,} | DRF floor {settings['products']:,} |"
    )
    w("|---|" + "--:|" * (len(size_list) + 2))
    for name in names:
        row = [SCENARIOS.get(name, name.replace("_", " "))]
        row += [str(sizes[size].get(name, "-")) for size in size_list]
        for system in ["oscar", "floor"]:
            entry = queries.get(system, {}).get("requests", {}).get(name)
            if entry:
                mark = "" if 200 <= entry["status"] < 300 else f" (HTTP {entry['status']})"
                row.append(f"{entry['queries']}{mark}")
            else:
                row.append("-")
        w("| " + " | ".join(row) + " |")
    if hits is not None:
        w(
            "\nStorefront with its response cache on, a second identical request (a cache hit): "
            + "; ".join(
                f"{SCENARIOS.get(name, name)}: {count} queries" for name, count in hits.items()
            )
            + "."
        )
    hit_error = queries.get("storefront", {}).get("cached_hit_error")
    if hit_error:
        w(f"\nCache-hit query count on Storefront failed: `{hit_error[-300:]}`")
    for system in SYSTEMS:
        if "error" in queries.get(system, {}):
            w(f"\nQuery count on {LABELS[system]} failed: `{queries[system]['error'][-300:]}`")
    w("")

    w("### Worker memory after the run (RSS of each gunicorn worker)\n")
    for system, sizes_mb in results.get("worker_rss_mb", {}).items():
        w(f"- {LABELS.get(system, system)}: " + ", ".join(f"{mb:.0f} MB" for mb in sizes_mb))
    w("")

    w("### Catalog generation\n")
    w("| products | system | seconds | rows | generator peak RSS | file |")
    w("|--:|---|--:|---|--:|---|")
    for data in other_results(results_dir):
        generation = data.get("generation") or {}
        for system in SYSTEMS:
            entry = generation.get(system)
            if not entry or entry.get("reused"):
                continue
            rows = ", ".join(f"{t} {n:,}" for t, n in entry["rows"].items())
            w(
                f"| {generation['products']:,} | {system} | {entry['seconds']} | {rows} "
                f"| {generation.get('generator_max_rss_mb', '-')} MB | {data['_file']} |"
            )
    w("")

    w("### Targets\n")
    w("| target | measured | met? |")
    w("|---|---|---|")
    baseline = baseline_ratio(results_dir)
    others = target_runs(results, results_dir)
    for target, measured, met in targets(
        results, table, checkout, sizes, baseline=baseline, others=others
    ):
        w(f"| {target} | {measured} | {met} |")
    w("")

    explain_size, explain = largest_explain(results_dir, _generator(results))
    if explain:
        w(
            f"### EXPLAIN ANALYZE of Storefront's queries ({explain_size:,} products, the "
            "largest catalog measured)\n"
        )
        w(
            "Full plans for the queries that take 1 ms or more; the others are listed with "
            "their execution time.\n"
        )
        for name, plans in explain.items():
            w(f"#### {SCENARIOS.get(name, name)}\n")
            quick = []
            for plan in plans:
                took = _execution_ms(plan["plan"])
                if took is not None and took < 1:
                    quick.append(f"- {took:.3f} ms: `{plan['sql'][:110]} …`")
                    continue
                sql = plan["sql"]
                if len(sql) > 700:
                    sql = sql[:700] + " …"
                w("```sql\n" + sql + "\n```\n")
                w("```\n" + plan["plan"] + "\n```\n")
            if quick:
                w("\n".join(quick) + "\n")
    return "\n".join(out)


def _extra_rounds_note(settings: dict) -> str:
    extra = settings.get("extra_rounds")
    if extra is None or extra >= settings["rounds"]:
        return ""
    return (
        f" (facets, SKU lookups and the mixed load: the first {extra} of them, BENCH_EXTRA_ROUNDS)"
    )


def deep_page_note(results: dict) -> str:
    """Which deep page each system was measured on: its `next` link (a cursor or a page
    number) or the page by number."""
    parts = []
    page = None
    for entry in results.get("scenarios", []):
        info = entry.get("deep_page")
        if entry["scenario"] != "list_deep" or not info or "page" not in info:
            continue
        page = page or info
        if info.get("via") == "next link":
            how = "its `next` link, " + (
                "a keyset cursor" if info.get("link") == "cursor" else "by page number"
            )
        else:
            how = "`?page=N` (its answer had no `next` link)"
        parts.append(f"{LABELS.get(entry['system'], entry['system'])}: {how}")
    if not parts:
        return ""
    return (
        f"Deep page: page {page['page']:,} (90 % of {page['count']:,} products) was fetched "
        "once by number, then the page a client holds from there was measured: "
        + "; ".join(parts)
        + ". Example paths are in the result file (`scenarios`)."
    )


def mixed_table(results: dict) -> dict:
    """{system: medians of the mixed runs (reads, checkout) and the summed cache counts}."""
    grouped: dict = defaultdict(list)
    for run in (results.get("mixed") or {}).get("runs", []):
        grouped[run["system"]].append(run)
    table = {}
    for system, runs in grouped.items():
        reads = [r["reads"] for r in runs if r.get("reads")]
        buys = [r["checkout"] for r in runs]
        caches = [r["cache"] for r in runs if r.get("cache")]
        hits = sum(c.get("hit", 0) for c in caches)
        misses = sum(c.get("miss", 0) for c in caches)
        table[system] = {
            "rounds": len(runs),
            "rps": _median([r["rps"] for r in reads]),
            "p50_ms": _median([r["p50_ms"] for r in reads]),
            "p99_ms": _median([r["p99_ms"] for r in reads]),
            "read_errors": sum(r["non_2xx"] + r["socket_errors"] for r in reads),
            "orders_per_s": _median([b["orders_per_s"] for b in buys]),
            "checkout_p50_ms": _median([b["checkout_p50_ms"] for b in buys]),
            "checkout_p99_ms": _median([b["checkout_p99_ms"] for b in buys]),
            "orders": sum(b["orders"] for b in buys),
            "server_errors": sum(b["server_errors"] for b in buys),
            "oversold_units": sum(b["oversold_units"] for b in buys),
            "stock_mismatch_variants": sum(b["stock_mismatch_variants"] for b in buys),
            "extras": extras_sum(buys),
            "hits": hits if caches else None,
            "misses": misses if caches else None,
            "bypasses": sum(c.get("bypass", 0) for c in caches) if caches else None,
            "hit_rate": hits / (hits + misses) if hits + misses else None,
        }
    return table


def mixed_section(w, results: dict) -> None:
    mixed = results.get("mixed") or {}
    table = mixed_table(results)
    if not table and not mixed.get("skipped"):
        return
    settings = results["settings"]
    shape = settings.get("mixed", {"readers": 8, "buyers": 8})
    w("### Reads during checkout (mixed load)\n")
    w(
        f"{shape['readers']} wrk connections read the filtered list and product details (half "
        f"each, the paths of those scenarios) while {shape['buyers']} customers buy "
        f"(add to cart, check out), for {settings.get('mixed_seconds', '?')} s; medians over "
        "the rounds. The cached Storefront's read paths are primed first; its cache hit rate "
        "is hits / (hits + misses) of `storefront_catalog_cache_requests_total` during the "
        "run (GET /metrics before and after).\n"
    )
    if table:
        checked = any(row["extras"] is not None for row in table.values())
        w(
            "| system | read req/s | read p50 ms | read p99 ms | read errors | orders/s "
            "| checkout p50 ms | checkout p99 ms | orders | 5xx | oversold units "
            "| stock mismatches | cache hit rate |"
            + (" shipping / tax / voucher |" if checked else "")
        )
        w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|" + ("---|" if checked else ""))
        for system in ("storefront", NOCACHE):
            row = table.get(system)
            if not row:
                continue
            if row["hit_rate"] is not None:
                rate = f"{row['hit_rate']:.1%} ({row['hits']:,} hits, {row['misses']:,} misses)"
            elif row["hits"] is None:
                rate = "not read"
            else:
                rate = f"cache off ({row['bypasses']:,} bypasses)"
            w(
                f"| {LABELS[system]} | {_fmt(row['rps'])} | {_fmt(row['p50_ms'], 1)} "
                f"| {_fmt(row['p99_ms'], 1)} | {row['read_errors']} "
                f"| {_fmt(row['orders_per_s'], 1)} | {_fmt(row['checkout_p50_ms'], 1)} "
                f"| {_fmt(row['checkout_p99_ms'], 1)} | {row['orders']} "
                f"| {row['server_errors']} | {row['oversold_units']} "
                f"| {row['stock_mismatch_variants']} | {rate} |"
                + (f" {_extras_cell(row['extras'])} |" if checked else "")
            )
    for system, reason in mixed.get("skipped", {}).items():
        w(f"\n- Mixed load not measured on {LABELS.get(system, system)}: {reason}")
    w("")


def nocache_table(w, table: dict, concurrency: int) -> None:
    """Storefront's reads with its response cache off, against Oscar and the floor."""
    cells = {
        scenario: table.get((scenario, NOCACHE, concurrency))
        for scenario in SCENARIOS
        if (scenario, NOCACHE, concurrency) in table
    }
    if not cells:
        return
    w("\n**Storefront with the response cache off (CATALOG_CACHE_SECONDS=0)**\n")
    w("| scenario | req/s | p50 ms | p99 ms | cache-off/Oscar | cache-off/floor |")
    w("|---|--:|--:|--:|--:|--:|")
    for scenario, cell in cells.items():
        flag = f" ({cell['non_2xx']} errors)" if cell["non_2xx"] else ""
        others = [
            (table.get((scenario, s, concurrency)) or {}).get("rps") for s in ("oscar", "floor")
        ]
        row = [
            SCENARIOS[scenario],
            _fmt(cell["rps"]) + flag,
            _fmt(cell["p50_ms"], 1),
            _fmt(cell["p99_ms"], 1),
            *(_ratio(cell["rps"], other) for other in others),
        ]
        w("| " + " | ".join(row) + " |")


def _execution_ms(plan: str) -> float | None:
    for line in plan.splitlines():
        if line.startswith("Execution Time:"):
            return float(line.split(":", 1)[1].split()[0])
    return None


def _loads(values) -> str:
    if not values:
        return "?"
    return " / ".join(f"{v:.2f}" for v in values)


def _generator(data: dict) -> int | None:
    return (data.get("generation") or {}).get("generator")


def same_generator(results_dir: Path, generator: int | None) -> list[dict]:
    """The result files of `results_dir` whose catalog the generator version `generator`
    loaded (every file if None). A catalog of an older generator was served by older code
    (before issue 13's derived columns, for version 2): its counts and plans would be
    compared with today's."""
    found = other_results(results_dir)
    return found if generator is None else [d for d in found if _generator(d) == generator]


def largest_explain(
    results_dir: Path = RESULTS_DIR, generator: int | None = None
) -> tuple[int, dict]:
    """Storefront's EXPLAIN ANALYZE plans from the newest result of the largest catalog
    (loaded by generator version `generator`, if given)."""
    best: tuple[int, dict] = (0, {})
    for data in same_generator(results_dir, generator):
        explain = data.get("queries", {}).get("storefront", {}).get("explain")
        if explain and data["settings"]["products"] >= best[0]:
            best = (data["settings"]["products"], explain)
    return best


def query_counts_by_size(
    results_dir: Path = RESULTS_DIR, generator: int | None = None
) -> dict[int, dict[str, int]]:
    """Storefront's query counts per catalog size, from the newest result file of each size
    (of those whose catalog generator version `generator` loaded, if given)."""
    by_size: dict[int, dict[str, int]] = {}
    for data in same_generator(results_dir, generator):
        requests = data.get("queries", {}).get("storefront", {}).get("requests")
        if requests:
            by_size[data["settings"]["products"]] = {
                name: entry["queries"] for name, entry in requests.items()
            }
    return by_size


def target_runs(results: dict, results_dir: Path = RESULTS_DIR) -> dict[int, tuple[str, dict]]:
    """{size: (file name, http_table)} of the newest full run of 10k and of 1M products other
    than `results`' size, loaded by the same generator: the issue's targets name both sizes."""
    found: dict[int, tuple[str, dict]] = {}
    products = results["settings"]["products"]
    for data in same_generator(results_dir, _generator(results)):
        size = data.get("settings", {}).get("products")
        full = data["_file"].startswith("bench-") and data.get("http")
        if full and size in (10_000, 1_000_000) and size != products:
            found[size] = (data["_file"], http_table(data))
    return found


def baseline_ratio(results_dir: Path = RESULTS_DIR) -> float | None:
    """The cached product list's Storefront/Oscar req/s at c=8 in BASELINE_10K, if present."""
    path = results_dir / BASELINE_10K
    if not path.exists():
        return None
    table = http_table(json.loads(path.read_text()))
    sf = (table.get(("list_first", "storefront", 8)) or {}).get("rps")
    oscar = (table.get(("list_first", "oscar", 8)) or {}).get("rps")
    return sf / oscar if sf and oscar else None


def targets(
    results: dict,
    table: dict,
    checkout: dict,
    sizes: dict,
    *,
    baseline: float | None = None,
    others: dict[int, tuple[str, dict]] | None = None,
) -> list[tuple[str, str, str]]:
    """(target, measured, met?) rows: issue 11's (Storefront as served, cache on), then
    issue 13's (most of them for the cache off, at the catalog size they name).

    A target of another catalog size than this run's is judged on `others[size]` (the file
    name and http_table of the newest run of that size) when given, and says so; else it
    shows this run's measure without a verdict."""
    products = results["settings"]["products"]
    others = others or {}
    rows = []

    def rps(scenario, system, c=8, source=None):
        return ((source or table).get((scenario, system, c)) or {}).get("rps")

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("yes" if ok else "**no**")

    def sized(size: int | None) -> tuple[dict, str, bool]:
        """(the http table to judge a target of `size` on, a note naming its file, whether
        it is of that size)."""
        if size is None or size == products:
            return table, "", True
        if size in others:
            name, other_table = others[size]
            return other_table, f" ({name})", True
        return table, "", False

    def judged(size: int | None, ok: bool | None, applies: bool) -> str:
        return verdict(ok) if applies else f"n/a: a {size:,}-product target"

    def ratio_row(label, scenario, system, factor, other, size=None):
        source, note, applies = sized(size)
        sf, ref = rps(scenario, system, source=source), rps(scenario, other, source=source)
        ok = None if not (sf and ref) else sf >= factor * ref
        rows.append((label, _ratio(sf, ref) + note, judged(size, ok, applies)))

    def p99_row(label, scenario, system, limit):
        source, note, applies = sized(1_000_000)
        cell = source.get((scenario, system, 8))
        if not cell:
            rows.append((label, "not measured" + note, "n/a"))
            return
        size = 1_000_000 if applies else products
        measured = f"p99 {cell['p99_ms']:.1f} ms at {size:,} products{note}"
        rows.append((label, measured, judged(1_000_000, cell["p99_ms"] < limit, applies)))

    ratio_row("Product list ≥ 2x Oscar's (c=8)", "list_first", "storefront", 2, "oscar")
    ratio_row(
        "Product list ≥ 1x bare single-table DRF list (c=8)", "list_first", "storefront", 1,
        "floor",
    )  # fmt: skip
    ratio_row("Detail ≥ 5x Oscar's (c=8)", "detail", "storefront", 5, "oscar")
    with_extras = bool((results.get("checkout") or {}).get("includes"))
    for customers in results["settings"]["checkout_customers"]:
        sf = checkout.get(("storefront", customers))
        oscar = checkout.get(("oscar", customers))
        if sf and oscar:
            ok = (
                sf["orders_per_s"] >= 3 * oscar["orders_per_s"]
                and sf["oversold_units"] == 0
                and sf["server_errors"] == 0
            )
            measured = (
                f"{_ratio(sf['orders_per_s'], oscar['orders_per_s'])}, "
                f"{sf['oversold_units']} oversold, {sf['server_errors']} 5xx"
            )
            if with_extras:
                # Both systems' orders must all hold them, or the ratio is of other work.
                held = {"Storefront": sf["extras"], "Oscar": oscar["extras"]}
                ok = ok and all(extras and extras["complete"] for extras in held.values())
                measured += "; shipping / tax / voucher: " + ", ".join(
                    f"{name} {_extras_cell(extras)}" for name, extras in held.items()
                )
        else:
            ok, measured = None, "not measured"
        label = (
            f"Checkout with shipping, tax and a voucher on every order ≥ 3x Oscar's orders/s "
            f"(Oscar's with its own), 0 oversells, 0 5xx ({customers} customers)"
            if with_extras
            else f"Checkout ≥ 3x Oscar's orders/s, 0 oversells, 0 5xx ({customers} customers)"
        )
        rows.append((label, measured, verdict(ok)))
    if len(sizes) > 1:
        names = set.intersection(*(set(c) for c in sizes.values()))
        constant = all(len({counts[n] for counts in sizes.values()}) == 1 for n in names)
        rows.append(
            ("Queries per request constant across sizes",
             ", ".join(f"{s:,}" for s in sorted(sizes)), verdict(constant))
        )  # fmt: skip
    else:
        rows.append(
            ("Queries per request constant from 10k to 1M", f"only {products:,} measured", "n/a")
        )
    p99_row("Filtered list p99 < 50 ms at 1M (c=8)", "list_filtered", "storefront", 50)
    p99_row("Search p99 < 100 ms at 1M (c=8)", "search", "storefront", 100)
    rss = results.get("worker_rss_mb", {}).get("storefront")
    if rss:
        rows.append(
            ("Each Storefront worker < 250 MB", f"max {max(rss):.0f} MB", verdict(max(rss) < 250))
        )

    # Issue 13: the cache-off Storefront (every read from the database), c=8.
    if any(key[1] == NOCACHE for key in [*table, *(k for _, t in others.values() for k in t)]):
        p99_row("Cache off: filtered list p99 < 50 ms at 1M (c=8)", "list_filtered", NOCACHE, 50)
        p99_row("Cache off: search p99 < 100 ms at 1M (c=8)", "search", NOCACHE, 100)
        p99_row("Cache off: deep page p99 < 100 ms at 1M (c=8)", "list_deep", NOCACHE, 100)
        p99_row("Cache off: facets p99 < 150 ms at 1M (c=8)", "facets", NOCACHE, 150)
        ratio_row(
            "Cache off: detail ≥ 5x Oscar's at 1M (c=8)", "detail", NOCACHE, 5, "oscar",
            1_000_000,
        )  # fmt: skip
        ratio_row(
            "Cache off: product list ≥ 1x the DRF floor at 10k (c=8)", "list_first", NOCACHE, 1,
            "floor", 10_000,
        )  # fmt: skip
        ratio_row(
            "Cache off: product list ≥ 2x Oscar's at 10k (c=8)", "list_first", NOCACHE, 2,
            "oscar", 10_000,
        )  # fmt: skip
    else:
        rows.append(("Cache off: issue 13's targets", "cache-off Storefront not measured", "n/a"))
    source, note, applies = sized(10_000)
    sf = rps("list_first", "storefront", source=source)
    oscar = rps("list_first", "oscar", source=source)
    now = sf / oscar if sf and oscar else None
    label = f"Cached product list Storefront/Oscar at 10k (c=8) no worse than {BASELINE_10K}"
    if baseline is None:
        rows.append((label, f"{_fmt(now, 2)}x{note}; the baseline file is not here", "n/a"))
    else:
        measured = f"{_fmt(now, 2)}x{note} against {baseline:.2f}x"
        ok = None if now is None else now >= baseline
        rows.append((label, measured, judged(10_000, ok, applies)))
    rows.append(constant_queries_row(sizes))
    return rows


def constant_queries_row(sizes: dict[int, dict[str, int]]) -> tuple[str, str, str]:
    """Issue 13: the list, facets, detail and SKU lookups run as many queries at 1M as at 10k."""
    label = "Queries per request the same at 10k and 1M: lists, facets, detail, SKU lookups"
    small, large = sizes.get(10_000), sizes.get(1_000_000)
    if not small or not large:
        measured = ", ".join(f"{s:,}" for s in sorted(sizes)) or "none"
        return (label, f"sizes measured: {measured}", "n/a")
    shown, missing, differ = [], [], []
    for name in CONSTANT_QUERIES:
        if name not in small or name not in large:
            missing.append(name)
            continue
        shown.append(f"{name} {small[name]} → {large[name]}")
        if small[name] != large[name]:
            differ.append(name)
    measured = ", ".join(shown) + (f"; not counted: {', '.join(missing)}" if missing else "")
    if differ:
        return (label, measured, "**no**")
    return (label, measured, "n/a" if missing else "yes")


def write(result_path: Path, doc_path: Path) -> None:
    result_path = Path(result_path)
    results = json.loads(result_path.read_text())
    generated = render(results, result_path.name, result_path.resolve().parent)
    text = doc_path.read_text() if doc_path.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n## Latest results\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc_path.write_text(f"{head}{BEGIN}\n{generated}\n{END}{tail}")


def latest_bench(results_dir: Path = RESULTS_DIR) -> Path | None:
    """The newest full run (bench-N-TIME.json), by the time in its name."""
    candidates = sorted(results_dir.glob("bench-*.json"), key=lambda p: p.stem.rsplit("-", 1)[1])
    return candidates[-1] if candidates else None


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else latest_bench()
    if path is None:
        raise SystemExit("No bench/results/bench-*.json yet: run `make bench`.")
    write(path, ROOT / "docs" / "performance.md")


if __name__ == "__main__":
    main()
