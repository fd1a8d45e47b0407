"""Policy fixtures: the synthetic CRM loaded into the test database, its rules and catalog."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psycopg
import pytest
from psycopg import sql

from gateway.policy.catalog import Catalog, load_catalog
from gateway.policy.rules import Rules, load_rules
from tests.policy import crm_data

RULES_FILE = Path(__file__).with_name("crm_rules.yaml")


@pytest.fixture(scope="session")
def crm_rules() -> Rules:
    return load_rules(RULES_FILE)


@pytest.fixture(scope="session")
def crm_dsn(server_dsn: str) -> Iterator[str]:
    """A database of its own with the CRM schema and rows (other areas load a sample
    customer database into the session's upstream database; the two must not meet)."""
    name = f"pgw_policy_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(server_dsn)
    dsn = psycopg.conninfo.make_conninfo(**{**info, "dbname": name})
    with psycopg.connect(dsn, autocommit=True) as conn:
        crm_data.load(conn)
    yield dsn
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


@pytest.fixture(scope="session")
async def crm_catalog(crm_dsn: str, crm_rules: Rules) -> Catalog:
    info = psycopg.conninfo.conninfo_to_dict(crm_dsn)
    conn = await asyncpg.connect(host=info.get("host"), port=int(info.get("port", 5432)),
                                 user=info.get("user"), password=info.get("password"),
                                 database=info.get("dbname"))
    try:
        return await load_catalog(conn, crm_rules)
    finally:
        await conn.close()
