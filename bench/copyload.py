"""Bulk loading with PostgreSQL COPY (psycopg 3 `cursor.copy()`), streamed in constant memory.

`deferred_indexes(conn, tables)` drops the secondary indexes, unique and foreign-key
constraints of `tables` and recreates them after the load (one sorted index build beats
millions of index insertions; FKs are checked once, in bulk). `CopySinks` keeps one COPY open
per table, each on its own connection, so a single pass over generated products can feed every
table at once; rows are buffered per table and flushed every ~1 MB.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from contextlib import ExitStack, contextmanager

import psycopg

FLUSH_BYTES = 1 << 20


def copy_text(value: object) -> str:
    """One value in COPY text format: None -> \\N; backslash, tab and newlines escaped."""
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def copy_line(values: Sequence[object]) -> str:
    return "\t".join(map(copy_text, values)) + "\n"


class Progress:
    """A one-line progress bar on stderr: done/total, rate and ETA, redrawn at most 4x a second."""

    def __init__(self, label: str, total: int, stream=sys.stderr) -> None:
        self.label = label
        self.total = max(total, 1)
        self.stream = stream
        self.started = time.monotonic()
        self.last_draw = 0.0
        self.done = 0

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if now - self.last_draw >= 0.25 or done >= self.total:
            self.last_draw = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-6)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate else 0.0
        width = 30
        filled = int(width * self.done / self.total)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(
            f"\r  {self.label:<22} [{bar}] {self.done:>9,}/{self.total:,} "
            f"{rate:>9,.0f}/s  ETA {eta:5.0f}s "
        )
        self.stream.flush()

    def finish(self) -> float:
        elapsed = time.monotonic() - self.started
        self._draw(time.monotonic())
        self.stream.write(f" {elapsed:.1f}s\n")
        self.stream.flush()
        return elapsed


class CopySinks:
    """One open `COPY table (columns) FROM STDIN` per table, each on its own connection.

    Use as a context manager; `add(table, values)` appends a row. All COPYs commit on a clean
    exit. Tables must have no foreign keys between them while loading (see deferred_indexes),
    since each connection commits on its own.
    """

    def __init__(self, dsn: str, tables: dict[str, Sequence[str]]) -> None:
        self.dsn = dsn
        self.tables = tables
        self.buffers: dict[str, list[str]] = {table: [] for table in tables}
        self.sizes: dict[str, int] = dict.fromkeys(tables, 0)
        self.rows: dict[str, int] = dict.fromkeys(tables, 0)
        self.copies: dict[str, psycopg.Copy] = {}
        self._stack = ExitStack()

    def __enter__(self) -> CopySinks:
        for table, columns in self.tables.items():
            conn = self._stack.enter_context(psycopg.connect(self.dsn))
            conn.execute("SET synchronous_commit = off")
            cursor = self._stack.enter_context(conn.cursor())
            column_list = ", ".join(columns)
            self.copies[table] = self._stack.enter_context(
                cursor.copy(f"COPY {table} ({column_list}) FROM STDIN")
            )
        return self

    def add(self, table: str, values: Sequence[object]) -> None:
        line = copy_line(values)
        buffer = self.buffers[table]
        buffer.append(line)
        self.sizes[table] += len(line)
        self.rows[table] += 1
        if self.sizes[table] >= FLUSH_BYTES:
            self._flush(table)

    def _flush(self, table: str) -> None:
        buffer = self.buffers[table]
        if buffer:
            self.copies[table].write("".join(buffer))
            buffer.clear()
            self.sizes[table] = 0

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            for table in self.tables:
                self._flush(table)
        # Closing the copies ends each COPY; closing the connections commits (or rolls back).
        self._stack.__exit__(exc_type, exc, tb)


def copy_rows(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable) -> int:
    """COPY a small iterable of rows into `table` on `conn`; return the row count."""
    count = 0
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write(copy_line(row))
            count += 1
    return count


@contextmanager
def deferred_indexes(conn: psycopg.Connection, tables: Sequence[str], *, log=print):
    """Drop secondary indexes, UNIQUE and FOREIGN KEY constraints of `tables`; recreate them after.

    Primary keys and CHECK constraints stay. `conn` must be in autocommit mode. The definitions
    are read from the catalog (pg_get_constraintdef / pg_get_indexdef), so indexes added later
    by migrations are handled too.
    """
    saved_constraints: list[tuple[str, str, str]] = []
    saved_indexes: list[tuple[str, str]] = []
    for table in tables:
        rows = conn.execute(
            """
            SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint
            WHERE conrelid = %s::regclass AND contype IN ('u', 'f')
            ORDER BY contype DESC, conname
            """,
            [table],
        ).fetchall()
        saved_constraints += [(table, name, definition) for name, definition, _ in rows]
        rows = conn.execute(
            """
            SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
            ORDER BY i.relname
            """,
            [table],
        ).fetchall()
        saved_indexes += list(rows)
    for table, name, _ in sorted(saved_constraints, key=lambda c: c[2].startswith("UNIQUE")):
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in saved_indexes:
        conn.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        started = time.monotonic()
        conn.execute("SET maintenance_work_mem = '512MB'")
        for _name, definition in saved_indexes:
            conn.execute(definition)
        # UNIQUE before FOREIGN KEY: a foreign key may need the unique index it points at.
        ordered = sorted(saved_constraints, key=lambda c: not c[2].startswith("UNIQUE"))
        for table, name, definition in ordered:
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        log(
            f"  rebuilt {len(saved_indexes)} indexes and {len(saved_constraints)} constraints "
            f"in {time.monotonic() - started:.1f}s"
        )


def reset_sequences(conn: psycopg.Connection, tables: Sequence[str]) -> None:
    """Move each table's id sequence past its largest id, so later inserts get fresh ids."""
    for table in tables:
        conn.execute(
            f"""
            SELECT setval(pg_get_serial_sequence(%s, 'id'),
                          COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)
            """,
            [table],
        )
