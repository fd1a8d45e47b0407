"""Sampling helpers: connection strings and the sampling query."""

from __future__ import annotations

import pytest

from gateway.detect.sample import Table, connect_args, sample_query


@pytest.mark.parametrize("dsn, expected", [
    ("postgresql://u@h:5/d", {"dsn": "postgresql://u@h:5/d"}),
    ("host=127.0.0.1 port=5432 user=postgres dbname=crm",
     {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "crm"}),
    ("dbname='my db' password='a\\'b' sslmode=require application_name=x",
     {"database": "my db", "password": "a'b", "ssl": "require"}),
])
def test_connect_args(dsn, expected):
    assert connect_args(dsn) == expected


@pytest.mark.parametrize("dsn", ["", "crm", "host=", "host='unterminated"])
def test_connect_args_refuses_garbage(dsn):
    with pytest.raises(ValueError):
        connect_args(dsn)


def _table(estimate: int) -> Table:
    return Table(1, "public", 'odd"name', estimate, [("id", "bigint"), ("备注", "text")],
                 "id", {})


def test_small_tables_are_read_from_the_start():
    assert sample_query(_table(500), 100) == (
        'SELECT "id"::text, "备注"::text FROM "public"."odd""name" LIMIT 100')


def test_large_tables_are_sampled_by_page():
    query = sample_query(_table(10_000_000), 1000)
    assert "TABLESAMPLE SYSTEM (0.030000)" in query and query.endswith("LIMIT 1000")
