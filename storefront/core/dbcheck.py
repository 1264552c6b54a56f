"""`python -m storefront.core.dbcheck`: exit 1, loudly, unless DATABASE_URL reaches PostgreSQL.

`make test` runs it first, so a suite that cannot reach PostgreSQL fails before it starts
instead of quietly running somewhere else.
"""

import os
import sys

import dj_database_url
import psycopg


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    config = dj_database_url.parse(url) if url else {}
    if config.get("ENGINE") != "django.db.backends.postgresql":
        print(f"make test needs PostgreSQL, but DATABASE_URL is {url!r}.", file=sys.stderr)
        return 1
    try:
        with psycopg.connect(
            host=config["HOST"] or "127.0.0.1",
            port=config["PORT"] or 5432,
            user=config["USER"] or "postgres",
            password=config["PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=5,
        ) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.OperationalError as exc:
        print(
            f"\n*** PostgreSQL is unreachable at {config['HOST']}:{config['PORT']}: {exc}\n"
            "*** Start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main "
            "start) or point DATABASE_URL at a server.\n",
            file=sys.stderr,
        )
        return 1
    print(f"PostgreSQL {version} at {config['HOST']}:{config['PORT']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
