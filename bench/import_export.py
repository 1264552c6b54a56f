"""`make bench-import`: time the catalog importer and exporter, and their peak memory (issue 17).

Steps (each command a separate `manage.py` process, production settings, on 127.0.0.1 only):
1. (re)create the database storefront_import_bench on BENCH_DB_URL and migrate it; write a
   deterministic catalog file of BENCH_IMPORT_ROWS rows in the documented format
   (storefront/catalog/imports/format.py: one row per variant, its product's columns
   repeated; 1-5 variants per product, 3 on average) to bench/run/import-export/, and the
   same file with the price of every tenth row raised by 1.00;
2. on that database: `import_catalog FILE --dry-run` (empty database), `import_catalog FILE`,
   the same again (nothing to change), `export_catalog --format csv` and `--format json` of
   the imported catalog, a dry run of the exported CSV (the round trip: nothing to change),
   and `import_catalog` of the edited file (an update run);
3. with BENCH_IMPORT_PROFILE=1: the database recreated, the real import once more under
   cProfile (bench/run/import-export/import.prof), its top functions recorded;
4. the export at BENCH_EXPORT_SMALL products (100,000; the bench catalog of bench.catalog,
   loaded into storefront_import_bench, which replaces the imported catalog) and at
   BENCH_EXPORT_PRODUCTS (1,000,000) in the bench's own storefront_bench (loaded, Storefront
   only, when it does not hold that catalog: about 2 minutes at 1M), CSV and JSON each;
5. write bench/results/import-export-<rows>-<UTC time>.json and print a table.

Each measurement is wall time and the peak RSS (ru_maxrss) and CPU time of that one child
process, from os.wait4 on its pid (the rusage of exactly that child, so no maximum carries
over from an earlier one); the load average is recorded before each. Export files are
deleted once measured (1M products make about 1 GB of CSV and more of JSON).

Settings: config.settings.production with the bench's secret key (as `make bench` serves
Storefront), DEBUG off, LOG_LEVEL=WARNING, the cache in Redis database 8 of the local server
(BENCH_IMPORT_REDIS_URL), apart from the bench's and the tests'.

Environment (all optional): BENCH_IMPORT_ROWS (100000), BENCH_SEED, BENCH_DB_URL
(postgres://postgres@127.0.0.1:5432), BENCH_EXPORT_PRODUCTS (1000000; 0 skips),
BENCH_EXPORT_SMALL (100000; 0 skips), BENCH_IMPORT_PROFILE (0; 1 profiles the import),
BENCH_IMPORT_REDIS_URL (redis://127.0.0.1:6379/8), BENCH_RESULTS_DIR (bench/results).
Benchmarks never assert timings: the targets are judged in the table, not enforced.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.metadata
import json
import os
import pstats
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from bench.catalog import (
    ADJECTIVES,
    COLLECTIONS,
    COLOURS,
    DEFAULT_SEED,
    LEAVES,
    MASK64,
    MATERIALS,
    NOUNS,
    ROOTS,
    SIZES,
    TAGS,
    cents,
    mix64,
    slugify,
)
from bench.checkout import LOOPBACK
from bench.generate import generate
from bench.loaders import GENERATOR_VERSION, loaded_catalog
from bench.run import PG_SETTINGS, SECRET_KEY, host_info

ROOT = Path(__file__).resolve().parent.parent
WORK_DIR = ROOT / "bench" / "run" / "import-export"
RESULTS_DIR = ROOT / "bench" / "results"
IMPORT_DB = "storefront_import_bench"
EXPORT_DB = "storefront_bench"
# The file's header: storefront.catalog.imports.format.COLUMNS (not imported: that module
# needs Django's settings, and the file must be what a shop would hand in anyway).
COLUMNS = (
    "product_slug", "name", "description", "category", "collections", "tags", "published",
    "tax_class", "images", "sku", "variant_name", "price", "stock_quantity", "weight_grams",
    "attributes",
)  # fmt: skip
# Words of some names, descriptions and tags outside ASCII (Latin-1, Polish, Cyrillic, CJK).
FOREIGN = [
    "Café", "Crème", "Größe", "Señora", "Blåbær", "Żółć", "Smørrebrød", "Fête", "Über",
    "Niño", "Привет", "東京", "Ölmühle", "Çay",
]  # fmt: skip
FOREIGN_TAGS = ["éco", "fait-main", "für-kinder", "ręcznie", "夏"]
# The targets (seconds, MB).
IMPORT_SECONDS = 120
DRY_RUN_SECONDS = 60
IMPORT_RSS_MB = 300
# The export's memory is "constant" when its peak at the largest catalog is at most this
# much above its peak at the smallest.
EXPORT_RSS_GROWTH = 1.25
COUNTS = re.compile(
    r"(?P<rows>\d+) rows: products (?P<created>\d+) created, (?P<updated>\d+) updated, "
    r"(?P<unchanged>\d+) unchanged, (?P<skipped>\d+) skipped; variants "
    r"(?P<variants_created>\d+) created, (?P<variants_updated>\d+) updated, "
    r"(?P<variants_unchanged>\d+) unchanged \((?P<verb>[^)]*)\)\."
)
TIMEOUT = 3600


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Config:
    def __init__(self) -> None:
        self.rows = env_int("BENCH_IMPORT_ROWS", 100_000)
        self.seed = env_int("BENCH_SEED", DEFAULT_SEED)
        self.db_url = os.environ.get("BENCH_DB_URL", "postgres://postgres@127.0.0.1:5432")
        self.db_url = self.db_url.rstrip("/")
        self.export_products = env_int("BENCH_EXPORT_PRODUCTS", 1_000_000)
        self.export_small = env_int("BENCH_EXPORT_SMALL", 100_000)
        self.profile = os.environ.get("BENCH_IMPORT_PROFILE") == "1"
        self.redis_url = os.environ.get("BENCH_IMPORT_REDIS_URL", "redis://127.0.0.1:6379/8")
        self.results_dir = Path(os.environ.get("BENCH_RESULTS_DIR") or RESULTS_DIR).resolve()
        if self.rows < 1:
            raise SystemExit("BENCH_IMPORT_ROWS must be at least 1")
        host = urlsplit(self.db_url).hostname or ""
        if host not in LOOPBACK:
            raise SystemExit(f"BENCH_DB_URL must point at this machine (loopback), not {host!r}")

    def dsn(self, database: str) -> str:
        return f"{self.db_url}/{database}"

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "seed": self.seed,
            "export_products": self.export_products,
            "export_small": self.export_small,
            "profile": self.profile,
            "databases": {"import": IMPORT_DB, "export": EXPORT_DB},
            "settings_module": "config.settings.production",
        }


# --- The catalog file --------------------------------------------------------------------


def category_paths() -> list[str]:
    """The 216 leaf paths "Root > Child > Leaf" (6 x 5 x 6, bench.catalog's words)."""
    return [
        f"{root} > {child} > {leaf}"
        for root in sorted(ROOTS)
        for child in sorted(ROOTS[root])
        for leaf in LEAVES
    ]


def _description(h: int, g: int, name: str, noun: str, material: str, foreign: str) -> str:
    """A few hundred characters of product copy, derived from the hashes `h` and `g`."""

    def word(words: list[str], shift: int) -> str:
        return words[(g >> shift) % len(words)]

    text = (
        f"The {name.lower()} is a {word(ADJECTIVES, 4)} {noun} cut from {material} and "
        f"finished by hand. {word(ADJECTIVES, 10).capitalize()} enough for every day, "
        f"{word(ADJECTIVES, 16)} enough for a weekend away: it pairs with a "
        f"{word(COLOURS, 22)} {word(NOUNS, 28)} or a {word(MATERIALS, 34)} {word(NOUNS, 40)}. "
        f"Care: wash at {30 + 10 * ((h >> 44) % 4)} °C, dry flat, store away from sunlight. "
        f"Made in small batches; each piece varies slightly in tone — that is the point."
    )
    if foreign:
        text += f" Inspired by “{foreign}”: ½ the weight, twice the warmth."
    return text


def catalog_rows(rows: int, seed: int, *, edited: bool = False):
    """Yield `rows` rows (dicts of COLUMNS), one per variant, 1-5 variants per product.

    Deterministic: product p is derived from mix64 of the seed and p. `edited`: the price of
    every tenth row (row numbers 10, 20, ...) is 1.00 higher, nothing else changes.
    """
    paths = category_paths()
    written = 0
    pid = 0
    while written < rows:
        pid += 1
        h = mix64(seed ^ (pid * 0x9E3779B97F4A7C15 & MASK64))
        g = mix64(h)
        adjective = ADJECTIVES[h % len(ADJECTIVES)]
        material = MATERIALS[(h >> 8) % len(MATERIALS)]
        noun = NOUNS[(h >> 16) % len(NOUNS)]
        foreign = FOREIGN[(h >> 20) % len(FOREIGN)] if (h >> 60) % 8 == 0 else ""
        name = " ".join(
            part.capitalize() if part not in FOREIGN else part
            for part in (foreign, adjective, material, noun)
            if part
        )
        tags = sorted(
            {TAGS[(g >> (44 + 4 * t)) % len(TAGS)] for t in range(1 + (g >> 41) % 4)}
            | ({FOREIGN_TAGS[(g >> 2) % len(FOREIGN_TAGS)]} if foreign else set())
        )
        product = {
            "product_slug": f"{slugify(f'{adjective} {material} {noun}')}-{pid}",
            "name": name,
            "description": _description(h, g, name, noun, material, foreign),
            "category": paths[(h >> 52) % len(paths)],
            "collections": COLLECTIONS[(g >> 58) % len(COLLECTIONS)],
            "tags": ", ".join(tags),
            "published": "false" if (h >> 56) % 50 == 0 else "true",
            "tax_class": "reduced" if (h >> 30) % 10 == 0 else "standard",
            "images": "",
        }
        base_price = 499 + ((h >> 32) % 400) * 100 + 99 * ((h >> 40) & 1)
        colour = COLOURS[(g >> 32) % len(COLOURS)]
        for k in range(1 + (h >> 24) % 5):
            if written == rows:
                break
            written += 1
            v = mix64(g ^ (k + 1))
            price = base_price + k * 200 + (100 if edited and written % 10 == 0 else 0)
            size = SIZES[k]
            attributes = {"colour": colour, "material": material, "size": size}
            yield {
                **product,
                "sku": f"IMP-{pid:06d}-{k + 1}",
                "variant_name": f"{size} / {colour}",
                "price": cents(price),
                "stock_quantity": 0 if v % 100 < 8 else 1 + (v >> 8) % 200,
                "weight_grams": "" if (v >> 20) % 10 == 0 else 50 + (v >> 24) % 4950,
                "attributes": json.dumps(attributes, ensure_ascii=False, sort_keys=True),
            }


def write_catalog(path: Path, rows: int, seed: int, *, edited: bool = False) -> dict:
    """Write the catalog file; return its size, rows and products."""
    products = set()
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        for row in catalog_rows(rows, seed, edited=edited):
            products.add(row["product_slug"])
            writer.writerow(row)
    return {"path": str(path.relative_to(ROOT)), "bytes": path.stat().st_size, "rows": rows,
            "products": len(products)}  # fmt: skip


# --- Databases and processes -------------------------------------------------------------


def recreate_database(config: Config, name: str) -> None:
    with psycopg.connect(config.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    log(f"created database {name}")


def ensure_database(config: Config, name: str) -> None:
    with psycopg.connect(config.dsn("postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            log(f"created database {name}")


def storefront_env(config: Config, database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DATABASE_URL=config.dsn(database),
        LOG_LEVEL="WARNING",
        NUM_PROXIES="0",
        CACHE_URL=config.redis_url,
        REDIS_URL=config.redis_url,
    )
    return env


def manage(config: Config, database: str, args: list[str]) -> None:
    """Run a manage.py command that is not measured (migrate); fail on an error."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=storefront_env(config, database),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-4000:]}")


def measure(config: Config, database: str, label: str, args: list[str]) -> dict:
    """Run `args` (after the Python executable) as one child process against `database`;
    return its wall time, peak RSS, CPU time, exit code and the last lines it printed."""
    out_path, err_path = WORK_DIR / f"{label}.out", WORK_DIR / f"{label}.err"
    loadavg = os.getloadavg()
    log(f"  {label}: {' '.join(args)}")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=storefront_env(config, database),
            stdout=out, stderr=err,
        )  # fmt: skip
        timer = threading.Timer(TIMEOUT, process.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        seconds = time.monotonic() - started
    # Reaped here: Popen must not wait for it again.
    process.returncode = os.waitstatus_to_exitcode(status)
    stdout_tail = _tail(out_path)
    entry = {
        "label": label,
        "command": args,
        "database": database,
        "seconds": round(seconds, 2),
        # ru_maxrss is in kilobytes on Linux.
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "cpu_user_s": round(usage.ru_utime, 2),
        "cpu_system_s": round(usage.ru_stime, 2),
        "exit_code": process.returncode,
        "loadavg_before": loadavg,
        "stdout_tail": stdout_tail,
        "stderr_tail": _tail(err_path),
    }
    match = COUNTS.search(stdout_tail)
    if match:
        entry["counts"] = {
            key: int(value) if value.isdigit() else value
            for key, value in match.groupdict().items()
        }
    log(
        f"    {seconds:.1f} s, {entry['peak_rss_mb']} MB"
        + (f", exit {process.returncode}" if process.returncode else "")
        + (f": {match.group(0)}" if match else "")
    )
    return entry


def _tail(path: Path, size: int = 1500) -> str:
    with path.open("rb") as stream:
        stream.seek(max(0, path.stat().st_size - size))
        return stream.read().decode("utf-8", "replace")


def export(config: Config, database: str, label: str, fmt: str) -> dict:
    """Measure `export_catalog --format fmt` into a file; record its size, then delete it."""
    output = WORK_DIR / f"{label}.{fmt}"
    entry = measure(
        config,
        database,
        label,
        ["manage.py", "export_catalog", "--format", fmt, "--output", str(output)],
    )
    entry["format"] = fmt
    entry["output_bytes"] = output.stat().st_size if output.exists() else None
    if fmt == "csv" and output.exists():
        with output.open(encoding="utf-8", newline="") as stream:
            entry["output_rows"] = sum(1 for _ in csv.reader(stream)) - 1
    return entry


def catalog_size(config: Config, database: str) -> dict:
    with psycopg.connect(config.dsn(database)) as conn:
        products, variants = conn.execute(
            "SELECT (SELECT count(*) FROM catalog_product),"
            " (SELECT count(*) FROM catalog_productvariant)"
        ).fetchone()
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return {"products": products, "variants": variants, "database_mb": round(size / 2**20, 1)}


def profile_import(config: Config, path: Path) -> dict:
    """The real import once more on a recreated database, under cProfile; its top functions."""
    recreate_database(config, IMPORT_DB)
    manage(config, IMPORT_DB, ["migrate", "--noinput", "-v0"])
    prof = WORK_DIR / "import.prof"
    entry = measure(
        config,
        IMPORT_DB,
        "import-profiled",
        ["-m", "cProfile", "-o", str(prof), "manage.py", "import_catalog", str(path)],
    )
    stats = pstats.Stats(str(prof))
    entries = stats.stats  # {(file, line, function): (cc, nc, tottime, cumtime, callers)}

    def top(index: int, n: int = 20) -> list[dict]:
        rows = sorted(entries.items(), key=lambda item: item[1][index], reverse=True)[:n]
        return [
            {
                "function": f"{Path(file).name}:{line}({name})"
                if file != "~"
                else name,  # built-ins are filed under "~"
                "file": _short(file),
                "calls": nc,
                "tottime_s": round(tt, 2),
                "cumtime_s": round(ct, 2),
            }
            for (file, line, name), (_, nc, tt, ct, _) in rows
        ]

    entry["profile"] = {"file": str(prof.relative_to(ROOT)), "by_tottime": top(2),
                        "by_cumtime": top(3, 40)}  # fmt: skip
    return entry


def _short(file: str) -> str:
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


# --- Machine -----------------------------------------------------------------------------


def machine_info(config: Config) -> dict:
    """bench.run.host_info, with the settings that bound a bulk write's speed."""
    return host_info(
        config.dsn("postgres"), (*PG_SETTINGS, "synchronous_commit", "fsync", "max_wal_size")
    )


def versions() -> dict:
    found = {}
    for package in ("Django", "djangorestframework", "psycopg", "django-treebeard"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[package] = importlib.metadata.version(package)
    git = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    )
    found["storefront_commit"] = git.stdout.strip()
    return found


# --- The report --------------------------------------------------------------------------


def targets(results: dict) -> list[tuple[str, str, str]]:
    """(target, measured, met?) for the issue's targets that this run measured."""
    steps = results["steps"]
    out = []
    if "import" in steps:
        s = steps["import"]
        out.append(
            (
                f"import of {results['config']['rows']:,} rows < {IMPORT_SECONDS} s, "
                f"< {IMPORT_RSS_MB} MB",
                f"{s['seconds']} s, {s['peak_rss_mb']} MB",
                _yes(s["seconds"] < IMPORT_SECONDS and s["peak_rss_mb"] < IMPORT_RSS_MB),
            )
        )
    if "dry_run" in steps:
        s = steps["dry_run"]
        out.append(
            (
                f"dry run < {DRY_RUN_SECONDS} s",
                f"{s['seconds']} s, {s['peak_rss_mb']} MB",
                _yes(s["seconds"] < DRY_RUN_SECONDS),
            )
        )
    if "reimport" in steps:
        counts = steps["reimport"].get("counts", {})
        out.append(
            (
                "same file again: 0 created, 0 updated",
                f"{counts.get('created', '?')} created, {counts.get('updated', '?')} updated",
                _yes(counts.get("created") == 0 and counts.get("updated") == 0),
            )
        )
    for fmt in ("csv", "json"):
        runs = sorted(
            (e for e in results["exports"] if e["format"] == fmt and e["exit_code"] == 0),
            key=lambda e: e["catalog"]["products"],
        )
        if (
            len(runs) >= 2
            and runs[-1]["catalog"]["products"] >= 10 * runs[0]["catalog"]["products"]
        ):
            small, large = runs[0], runs[-1]
            out.append(
                (
                    f"export ({fmt}) in constant memory: peak at "
                    f"{large['catalog']['products']:,} products ≤ {EXPORT_RSS_GROWTH}x "
                    f"at {small['catalog']['products']:,}",
                    f"{large['peak_rss_mb']} MB against {small['peak_rss_mb']} MB",
                    _yes(large["peak_rss_mb"] <= EXPORT_RSS_GROWTH * small["peak_rss_mb"]),
                )
            )
    return out


def _yes(met: bool) -> str:
    return "met" if met else "not met"


def table(results: dict) -> str:
    lines = [
        "| step | products | rows (variants) | seconds | peak RSS MB | CPU s (user+sys) | result |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    rows = results["config"]["rows"]
    products = results["file"]["products"]
    for key, s in results["steps"].items():
        counts = s.get("counts")
        outcome = (
            f"{counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged; variants {counts['variants_updated']} updated"
            if counts
            else f"exit {s['exit_code']}"
        )
        lines.append(
            f"| {key} | {products:,} | {rows:,} | {s['seconds']} | {s['peak_rss_mb']} "
            f"| {s['cpu_user_s'] + s['cpu_system_s']:.1f} | {outcome} |"
        )
    for e in results["exports"]:
        size = f"{e['output_bytes'] / 2**20:,.1f} MB" if e.get("output_bytes") else "-"
        lines.append(
            f"| export {e['format']} | {e['catalog']['products']:,} "
            f"| {e['catalog']['variants']:,} | {e['seconds']} | {e['peak_rss_mb']} "
            f"| {e['cpu_user_s'] + e['cpu_system_s']:.1f} | {size}, exit {e['exit_code']} |"
        )
    lines += ["", "| target | measured | met? |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {ok} |" for t, m, ok in results["targets"]]
    return "\n".join(lines)


# --- Main --------------------------------------------------------------------------------


def main() -> None:
    config = Config()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    config.results_dir.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    out = config.results_dir / f"import-export-{config.rows}-{stamp}.json"
    results: dict = {
        "kind": "import-export",
        "started_at": started_at.isoformat(timespec="seconds"),
        "config": config.as_dict(),
        "machine": machine_info(config),
        "versions": versions(),
        "steps": {},
        "exports": [],
        "catalog_loads": {},
    }
    steps = results["steps"]

    def save() -> None:
        # After every step: a run stopped half-way still leaves what it measured.
        out.write_text(json.dumps(results, indent=2, default=str) + "\n")

    log(f"Writing the catalog file: {config.rows:,} rows")
    started = time.monotonic()
    path, edited = WORK_DIR / f"catalog-{config.rows}.csv", WORK_DIR / f"edited-{config.rows}.csv"
    results["file"] = write_catalog(path, config.rows, config.seed)
    results["edited_file"] = write_catalog(edited, config.rows, config.seed, edited=True)
    results["file"]["write_seconds"] = round(time.monotonic() - started, 2)
    log(f"  {results['file']}")

    log(f"Database {IMPORT_DB}")
    recreate_database(config, IMPORT_DB)
    started = time.monotonic()
    manage(config, IMPORT_DB, ["migrate", "--noinput", "-v0"])
    results["migrate_seconds"] = round(time.monotonic() - started, 2)

    def imports(label: str, file: Path, *extra: str) -> dict:
        entry = measure(
            config, IMPORT_DB, label, ["manage.py", "import_catalog", str(file), *extra]
        )
        save()
        return entry

    log("Import")
    steps["dry_run"] = imports("dry-run", path, "--dry-run")
    steps["import"] = imports("import", path)
    results["imported_catalog"] = catalog_size(config, IMPORT_DB)
    steps["reimport"] = imports("reimport", path)
    imported = results["imported_catalog"]
    for fmt in ("csv", "json"):
        entry = export(config, IMPORT_DB, f"export-imported-{fmt}", fmt)
        entry["catalog"] = {**imported, "what": "the imported file"}
        results["exports"].append(entry)
        save()
    steps["export_round_trip"] = imports(
        "export-round-trip", WORK_DIR / "export-imported-csv.csv", "--dry-run"
    )
    steps["update"] = imports("update", edited)
    for fmt in ("csv", "json"):
        (WORK_DIR / f"export-imported-{fmt}.{fmt}").unlink(missing_ok=True)

    if config.profile:
        log("Import under cProfile")
        steps["import_profiled"] = profile_import(config, path)
        save()

    sizes = [(config.export_small, IMPORT_DB), (config.export_products, EXPORT_DB)]
    for products, database in sizes:
        if products <= 0:
            continue
        log(f"Export at {products:,} products ({database})")
        ensure_database(config, database)
        manage(config, database, ["migrate", "--noinput", "-v0"])
        dsn = config.dsn(database)
        meta = loaded_catalog(dsn, "storefront")
        wanted = (products, config.seed, GENERATOR_VERSION)
        if database == IMPORT_DB or not meta or (
            meta["products"], meta["seed"], meta["generator"]
        ) != wanted:  # fmt: skip
            results["catalog_loads"][database] = generate(
                {"storefront": dsn}, products=products, seed=config.seed
            )
        else:
            log(f"  catalog of {products:,} products already loaded")
            results["catalog_loads"][database] = {"reused": True, **meta}
        catalog = {**catalog_size(config, database), "what": f"bench.catalog, {products:,}"}
        for fmt in ("csv", "json"):
            label = f"export-{products}-{fmt}"
            entry = export(config, database, label, fmt)
            entry["catalog"] = catalog
            results["exports"].append(entry)
            (WORK_DIR / f"{label}.{fmt}").unlink(missing_ok=True)
            save()

    results["targets"] = targets(results)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    save()
    print(table(results))
    log(f"Results: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
