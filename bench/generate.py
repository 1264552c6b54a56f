"""Generate the benchmark catalog into one or more systems' databases.

    python -m bench.generate --products 10000 storefront=postgres://.../storefront_bench \
        oscar=postgres://.../oscar_bench floor=postgres://.../floor_bench

Each database must already have its schema (Storefront's and Oscar's `migrate`); the floor
table is created here. Prints one JSON object with seconds and row counts per system, and the
peak memory (max RSS) of this process, which stays flat whatever the product count.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys

from bench.catalog import DEFAULT_SEED, Catalog
from bench.loaders import GENERATOR_VERSION, LOADERS, loaded_catalog


def generate(
    targets: dict[str, str], *, products: int, seed: int = DEFAULT_SEED, reuse: bool = False
) -> dict:
    """Load the catalog into every `{system: dsn}`; skip a system already loaded if `reuse`."""
    catalog = Catalog(products=products, seed=seed)
    report: dict = {"products": products, "seed": seed, "generator": GENERATOR_VERSION}
    for system, dsn in targets.items():
        if reuse:
            meta = loaded_catalog(dsn, system)
            if meta and (meta["products"], meta["seed"], meta["generator"]) == (
                products,
                seed,
                GENERATOR_VERSION,
            ):
                print(
                    f"  {system}: catalog of {products:,} products already loaded", file=sys.stderr
                )
                report[system] = {**meta, "reused": True}
                continue
        print(f"Loading {products:,} products into {system}", file=sys.stderr)
        report[system] = LOADERS[system](dsn, catalog, log=lambda m: print(m, file=sys.stderr))
    # ru_maxrss is in kilobytes on Linux.
    report["generator_max_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--reuse", action="store_true", help="skip systems already loaded")
    parser.add_argument("targets", nargs="+", help="system=dsn, system in storefront/oscar/floor")
    args = parser.parse_args(argv)
    targets = dict(target.split("=", 1) for target in args.targets)
    unknown = set(targets) - set(LOADERS)
    if unknown:
        parser.error(f"unknown system(s): {sorted(unknown)}")
    report = generate(targets, products=args.products, seed=args.seed, reuse=args.reuse)
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
