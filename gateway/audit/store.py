"""Audit and ledger rows in the state database: batch insert, spool replay, read-back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from itertools import islice

import asyncpg

from gateway.audit.binary import (
    COPY_COLUMNS,
    EXPOSURE_COPY_COLUMNS,
    AuditCopy,
    ExposureCopy,
    text_array_values,
)
from gateway.audit.chain import Sealed
from gateway.audit.chain import row as sealed_row
from gateway.audit.record import COLUMNS as AUDIT_COLUMNS
from gateway.audit.spool import AUDIT, EXPOSURE, Spool
from gateway.state.partitions import Partitions

SCHEMA = "privacy_gateway"
EXPOSURE_COLUMNS = ("ts", "replica", "audit_seq", "session_id", "principal", "purpose",
                    "table_name", "subjects", "clear_classes", "masked_classes", "aggregate",
                    "rows")


async def write_batch(conn: asyncpg.Connection, partitions: Partitions,
                      audit_rows: list[Sealed], exposure_rows: list[tuple],
                      encoder: AuditCopy | None = None,
                      exposure_encoder: ExposureCopy | None = None) -> None:
    """Insert one batch in one transaction (group commit for strict mode); audit records
    as sealed by the chain; both sent in binary COPY format."""
    if exposure_rows:
        await partitions.ensure(conn, _days(exposure_rows))
    async with conn.transaction():
        if audit_rows:
            await conn.copy_to_table("audit_log", schema_name=SCHEMA, columns=COPY_COLUMNS,
                                     # a view: plain bytes would be taken for a path
                                     source=memoryview((encoder or AuditCopy()).encode(
                                         audit_rows)), format="binary")
        if exposure_rows:
            source = (exposure_encoder or ExposureCopy()).encode(exposure_rows)
            await conn.copy_to_table("exposure", schema_name=SCHEMA,
                                     columns=EXPOSURE_COPY_COLUMNS,
                                     source=memoryview(source), format="binary")


def _days(exposure_rows: list[tuple]) -> list[datetime]:
    """A time on every UTC day from the earliest row to the latest (the partitions the
    rows need, without converting each row's time)."""
    stamps = [r[0] for r in exposure_rows]
    first, last = min(stamps), max(stamps)
    days = [first]
    while days[-1].astimezone(UTC).date() < last.astimezone(UTC).date():
        days.append(days[-1] + timedelta(days=1))
    return [*days, last]


async def _copy(conn: asyncpg.Connection, table: str, columns: tuple[str, ...],
                rows: list[tuple]) -> None:
    if rows:
        await conn.copy_records_to_table(table, schema_name=SCHEMA, columns=columns,
                                         records=rows)


async def replay(conn: asyncpg.Connection, partitions: Partitions, spool: Spool,
                 chunk: int = 5000) -> int:
    """Move the whole spool into the database in one transaction; return items moved.

    Audit rows already present (a batch committed but not acknowledged) are skipped by
    key; a spool already replayed (crash before its file was removed) is skipped whole.
    """
    spool_id = spool.spool_id()
    if spool_id is None:
        spool.remove()
        return 0
    await partitions.ensure(conn, [row[0] for kind, row in spool.read() if kind == EXPOSURE])
    moved = 0
    async with conn.transaction():
        if await conn.fetchval(f"SELECT 1 FROM {SCHEMA}.audit_spool_replays"
                               " WHERE spool_id = $1", spool_id):
            spool.remove()
            return 0
        await conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS audit_replay"
                           f" (LIKE {SCHEMA}.audit_log) ON COMMIT DELETE ROWS")
        items = (item for item in spool.read() if item[0] != "spool")
        while batch := list(islice(items, chunk)):
            await _replay_chunk(conn, batch)
            moved += len(batch)
        await conn.execute(f"INSERT INTO {SCHEMA}.audit_spool_replays (spool_id, items)"
                           " VALUES ($1, $2)", spool_id, moved)
    spool.remove()
    return moved


async def _replay_chunk(conn: asyncpg.Connection, batch: list[tuple[str, tuple]]) -> None:
    audit = [row for kind, row in batch if kind == AUDIT]
    if audit:
        await conn.copy_records_to_table("audit_replay", columns=AUDIT_COLUMNS, records=audit)
        await conn.execute(f"INSERT INTO {SCHEMA}.audit_log SELECT * FROM audit_replay"
                           " ON CONFLICT DO NOTHING; TRUNCATE audit_replay")
    await _copy(conn, "exposure", EXPOSURE_COLUMNS,
                [row for kind, row in batch if kind == EXPOSURE])


async def read_log(conn: asyncpg.Connection, replica: str | None = None,
                   prefetch: int = 2000) -> AsyncIterator[asyncpg.Record]:
    """Audit rows ordered by replica and seq, streamed (call inside a transaction)."""
    where, args = ("WHERE replica = $1", [replica]) if replica else ("", [])
    query = (f"SELECT {', '.join(AUDIT_COLUMNS)} FROM {SCHEMA}.audit_log {where}"
             " ORDER BY replica, seq")
    async for row in conn.cursor(query, *args, prefetch=prefetch):
        yield row


def audit_items(sealed: Iterable[Sealed]) -> list[tuple[str, tuple]]:
    """Sealed records as spool items (rows as read back from the database)."""
    return [(AUDIT, sealed_row(s)) for s in sealed]


def exposure_items(rows: Iterable[tuple]) -> list[tuple[str, tuple]]:
    """Ledger rows as spool items, subjects as a list again (the writer queues them
    encoded for COPY)."""
    at = EXPOSURE_COLUMNS.index("subjects")
    return [(EXPOSURE, (*r[:at], _subjects(r[at]), *r[at + 1:])) for r in rows]


def _subjects(value) -> list:
    return text_array_values(value) if type(value) is bytes else list(value)
