"""`python -m storefront.core.dbcheck`: exit 1, loudly, if DATABASE_URL is set but does not
reach PostgreSQL.

`make test` and `make fuzz` run it first, so a suite pointed at a server that is down fails
in one line before it starts. With DATABASE_URL unset there is nothing to check: the settings
start the embedded PostgreSQL (storefront/core/servers.py).
"""

import os
import sys

import dj_database_url
import psycopg

from config.settings.base import database_url


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        print("DATABASE_URL is unset: the embedded PostgreSQL (storefront/core/servers.py)")
        return 0
    config = dj_database_url.parse(database_url(embedded=False))  # refuses other URLs
    where = config["HOST"] or "127.0.0.1"
    try:
        with psycopg.connect(
            host=where,
            port=config["PORT"] or 5432,
            user=config["USER"] or "postgres",
            password=config["PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=5,
        ) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.OperationalError as exc:
        print(
            f"\n*** PostgreSQL is unreachable at {where}:{config['PORT'] or 5432}: {exc}\n"
            "*** Start it, point DATABASE_URL at a server, or unset DATABASE_URL to use the "
            "embedded PostgreSQL.\n",
            file=sys.stderr,
        )
        return 1
    print(f"PostgreSQL {version} at {where}:{config['PORT'] or 5432}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
