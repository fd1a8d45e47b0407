"""Load the sample customer database into PostgreSQL with COPY."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import psycopg
from psycopg import sql

from gateway.sample import records, schema


def load(dsn: str, customers: int = 3000, seed: int = 7) -> dict[str, int]:
    """Create (or replace) public.customers and public.orders in `dsn` and fill them.

    `customers` ordinary customers (ids 1..customers) are generated from `seed`, plus the
    canary customers; sign-up times spread over the five years before today. Running it
    again replaces the tables. Returns the row counts: customers, orders, canaries.
    """
    now = _today()
    people = list(records.customers(seed, customers, now)) + records.canaries(now)
    with psycopg.connect(dsn) as conn:  # one transaction: readers see old or new tables
        conn.execute(schema.DROP)
        for statement in schema.CREATE:
            conn.execute(statement)
        _copy(conn, "customers", schema.CUSTOMER_COLUMNS, (p.row() for p in people))
        order_count = _copy(conn, "orders", schema.ORDER_COLUMNS,
                            (o.row() for o in records.orders(seed, people, now)))
        for statement in schema.INDEXES:
            conn.execute(statement)
    _analyze(dsn)
    return {"customers": len(people), "orders": order_count, "canaries": len(records.CANARY_IDS)}


def _today() -> dt.datetime:
    """Midnight UTC today: the same seed on the same day gives the same rows."""
    return dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _copy(conn: psycopg.Connection, table: str, columns: Iterable[str],
          rows: Iterable[tuple]) -> int:
    """COPY rows into public.<table>; returns how many were written."""
    statement = sql.SQL("COPY public.{} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _analyze(dsn: str) -> None:
    """Fresh planner statistics, so the first queries against the sample plan well."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE public.customers, public.orders")
