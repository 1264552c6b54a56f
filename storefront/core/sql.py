"""Several ORM writes sent as one PostgreSQL statement (data-modifying WITH queries).

A write-heavy workflow such as the checkout inserts rows into several tables. The ORM sends
one statement per table, and every statement is a round trip to the server. PostgreSQL runs
INSERT, UPDATE and DELETE as WITH queries of one statement, so those rows can go together:

    WITH new_order AS (INSERT INTO orders_order (...) VALUES (...) RETURNING id),
         items AS (INSERT INTO orders_orderitem (order_id, ...)
                   VALUES (((SELECT id FROM new_order)), ...), ... RETURNING id)
    SELECT (SELECT id FROM new_order), ARRAY(SELECT id FROM items ORDER BY id)

The INSERTs are the ones the ORM builds (Django's InsertQuery: the model's own columns,
`pre_save` of auto_now fields, each field's adaptation of its value), so they follow the
models. Source: PostgreSQL manual, "Data-Modifying Statements in WITH" (section 7.8.4).
"""

from django.db import connections
from django.db.models import AutoField, Model
from django.db.models.expressions import RawSQL
from django.db.models.sql import InsertQuery


def with_query_id(name: str) -> RawSQL:
    """A value for a foreign key column: the id returned by the one-row WITH query `name`."""
    return RawSQL(f"SELECT id FROM {name}", ())


def insert_returning_pk(rows: list[Model], *, using: str) -> tuple[str, tuple]:
    """(SQL, params) of `INSERT INTO <table> (...) VALUES (...), ... RETURNING <pk>` for `rows`.

    `rows` are unsaved instances of one model; their values may be expressions such as
    with_query_id(). The statement is the one bulk_create(rows) would send, with every
    concrete column but an auto primary key. auto_now and auto_now_add fields are set on the
    instances, as saving would; primary keys are not (the caller reads them back).
    """
    opts = rows[0]._meta
    fields = [
        field
        for field in opts.concrete_fields
        if not field.generated and not isinstance(field, AutoField)
    ]
    query = InsertQuery(type(rows[0]))
    query.insert_values(fields, rows)
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [opts.pk]
    [(sql, params)] = compiler.as_sql()
    return sql, params


def run_with_queries(
    with_queries: list[tuple[str, tuple[str, tuple]]], select: str, *, using: str
) -> tuple:
    """Run `WITH name AS (sql), ... <select>` and return its one row.

    `with_queries`: (name, (sql, params)) in order; a later query may refer to an earlier
    one by name. PostgreSQL runs every data-modifying WITH query once, whether or not
    `select` reads it, all on one snapshot: a WITH query does not see the rows another one
    inserts, only what it returns.
    """
    sql = "WITH " + ", ".join(f"{name} AS ({query})" for name, (query, _) in with_queries)
    params = [param for _, (_, query_params) in with_queries for param in query_params]
    with connections[using].cursor() as cursor:
        cursor.execute(f"{sql} {select}", params)
        return cursor.fetchone()


def mark_saved(instances: list[Model], *, using: str) -> None:
    """Record on `instances`, inserted by run_with_queries, that they are saved in `using`,
    as Model.save() does: a later save() updates them instead of inserting again."""
    for instance in instances:
        instance._state.adding = False
        instance._state.db = using
