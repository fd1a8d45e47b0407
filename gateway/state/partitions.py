"""Day partitions of the exposure ledger, created on demand before rows arrive."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta

import asyncpg


def partition_name(day: date) -> str:
    return f"exposure_{day:%Y%m%d}"


def partition_sql(day: date) -> str:
    """DDL for one day's partition (UTC days)."""
    start, end = day.isoformat(), (day + timedelta(days=1)).isoformat()
    return (f"CREATE TABLE IF NOT EXISTS privacy_gateway.{partition_name(day)}"
            f" PARTITION OF privacy_gateway.exposure"
            f" FOR VALUES FROM ('{start} 00:00+00') TO ('{end} 00:00+00')")


class Partitions:
    """Remembers which days exist so the writer asks the database once per day."""

    def __init__(self) -> None:
        self._known: set[date] = set()

    def missing(self, stamps: list[datetime]) -> list[date]:
        return sorted({ts.astimezone(UTC).date() for ts in stamps} - self._known)

    async def ensure(self, conn: asyncpg.Connection, stamps: list[datetime]) -> None:
        """Create the partitions for these timestamps (several replicas may race: fine)."""
        for day in self.missing(stamps):
            # another replica may create it between our check and our CREATE
            with contextlib.suppress(asyncpg.DuplicateTableError, asyncpg.UniqueViolationError):
                await conn.execute(partition_sql(day))
            self._known.add(day)



async def drop_before(conn: asyncpg.Connection, day: date) -> list[str]:
    """Drop ledger partitions of days before `day` (retention); returns their names."""
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'privacy_gateway.exposure'::regclass"
        " AND c.relname ~ '^exposure_[0-9]{8}$' AND c.relname < $1 ORDER BY 1",
        partition_name(day))
    for row in rows:
        await conn.execute(f"DROP TABLE privacy_gateway.{row['relname']}")
    return [row["relname"] for row in rows]
