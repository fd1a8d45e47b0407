"""Policy fixtures: the synthetic CRM loaded into the test database, its rules and catalog."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import psycopg
import pytest

from gateway.policy.catalog import Catalog, load_catalog
from gateway.policy.rules import Rules, load_rules
from tests.policy import crm_data

RULES_FILE = Path(__file__).with_name("crm_rules.yaml")


@pytest.fixture(scope="session")
def crm_rules() -> Rules:
    return load_rules(RULES_FILE)


@pytest.fixture(scope="session")
def crm_dsn(upstream_dsn: str) -> str:
    """The test database with the CRM schema and rows."""
    with psycopg.connect(upstream_dsn, autocommit=True) as conn:
        crm_data.load(conn)
    return upstream_dsn


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
