"""Apply SQL migrations to the state database once, in order, safely from many replicas."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

SCHEMA = "privacy_gateway"

_LEDGER = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_migrations (
    component  text NOT NULL,
    version    int NOT NULL,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
);
"""

# A migration: (version, name, SQL). Versions of one component increase; SQL may hold
# several statements and runs in one transaction together with its ledger row.
Migration = tuple[int, str, str]


async def apply(conn: asyncpg.Connection, component: str,
                migrations: Sequence[Migration]) -> list[int]:
    """Apply the migrations of `component` not yet recorded; return the versions applied.

    A transaction-scoped advisory lock serialises replicas starting at the same time, so
    each migration runs exactly once whatever the number of gateways.
    """
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('privacy_gateway.migrate'))")
        await conn.execute(_LEDGER)
        done = {r["version"] for r in await conn.fetch(
            f"SELECT version FROM {SCHEMA}.schema_migrations WHERE component = $1", component)}
        for version, name, sql in sorted(migrations):
            if version in done:
                continue
            await conn.execute(sql)
            await conn.execute(
                f"INSERT INTO {SCHEMA}.schema_migrations (component, version, name)"
                " VALUES ($1, $2, $3)", component, version, name)
            applied.append(version)
    return applied
