"""State schema: idempotent migrations from several replicas, DSN forms, partitions."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import asyncpg
import pytest

from gateway.config import load
from gateway.state import migrate
from gateway.state.connect import as_url, ensure_schema, prepare, state_dsn
from gateway.state.partitions import Partitions, drop_before, partition_name
from gateway.state.schema import MIGRATIONS


@pytest.fixture(scope="session")
async def state_url(upstream_dsn: str) -> str:
    url = as_url(upstream_dsn)
    await prepare(url)
    return url


async def test_replicas_migrating_at_once_apply_each_version_once(state_url):
    conns = [await asyncpg.connect(state_url) for _ in range(3)]
    try:
        component = "test_component"
        steps = [(1, "t", "CREATE TABLE privacy_gateway.migrate_probe (x int)"),
                 (2, "u", "INSERT INTO privacy_gateway.migrate_probe VALUES (1)")]
        applied = await asyncio.gather(*(migrate.apply(c, component, steps) for c in conns))
        assert sorted(map(tuple, applied)) == [(), (), (1, 2)]
        assert await conns[0].fetchval("SELECT count(*) FROM privacy_gateway.migrate_probe") == 1
        assert await ensure_schema(conns[0]) == []  # the gateway's own: already there
    finally:
        for c in conns:
            await c.close()


def test_migration_versions_are_unique_and_ordered():
    versions = [v for v, _, _ in MIGRATIONS]
    assert versions == sorted(set(versions))


@pytest.mark.parametrize("dsn,url", [
    ("postgresql://u@h:1/db", "postgresql://u@h:1/db"),
    ("host=h port=5 user=u dbname=d", "postgresql://u@h:5/d"),
    ("host=h user=u password='p w' dbname=d connect_timeout=3 sslmode=require",
     "postgresql://u:p%20w@h/d?sslmode=require"),
])
def test_as_url(dsn, url):
    assert as_url(dsn) == url


def test_state_dsn_falls_back_to_upstream(tmp_path):
    (tmp_path / "g.yaml").write_text("upstream: postgresql://gw@db/crm\n")
    assert state_dsn(load(tmp_path / "g.yaml")) == "postgresql://gw@db/crm"
    (tmp_path / "g.yaml").write_text("upstream: postgresql://gw@db/crm\n"
                                     "state: postgresql://gw@state/pg\n")
    assert state_dsn(load(tmp_path / "g.yaml")) == "postgresql://gw@state/pg"


async def test_partitions_created_on_demand_and_dropped(state_url):
    conn = await asyncpg.connect(state_url)
    try:
        old, new = datetime(2020, 1, 2, 23, 59, tzinfo=UTC), datetime(2020, 1, 3, tzinfo=UTC)
        await Partitions().ensure(conn, [old, new])
        await Partitions().ensure(conn, [old])  # a second replica: no error
        await conn.execute("INSERT INTO privacy_gateway.exposure (ts, replica, table_name)"
                           " VALUES ($1, 'r', 't')", old)
        dropped = await drop_before(conn, date(2020, 1, 3))
        assert dropped == [partition_name(date(2020, 1, 2))]
        assert await conn.fetchval("SELECT to_regclass($1)",
                                   f"privacy_gateway.{partition_name(date(2020, 1, 3))}")
    finally:
        await conn.close()
