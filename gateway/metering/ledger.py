"""The exposure ledger: which customers' rows left the gateway, to whom, clear or masked."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg

from gateway.metering.usage import StatementUse

_REPORT = """
SELECT ts, replica, audit_seq, session_id, principal, purpose, table_name, clear_classes,
       masked_classes, aggregate
  FROM privacy_gateway.exposure
 WHERE subjects @> ARRAY[$1::text] AND ($2::text IS NULL OR table_name = $2)
   AND ($3::timestamptz IS NULL OR ts >= $3)
 ORDER BY ts, replica, audit_seq"""


def exposure_rows(use: StatementUse, replica: str) -> Iterator[tuple]:
    """Ledger rows (store.EXPOSURE_COLUMNS order) for the tables whose data left.

    Any statement that sent rows counts, including one that failed part way (rows sent
    before a row-limit error were seen); a refused statement sent nothing. A statement
    of many customers writes its subjects in batches while it runs: those rows carry
    no rows count and no audit_seq, and its last row has them.
    """
    if use.refused:
        return
    for t in use.tables:
        if not (t.rows or t.aggregate or t.subjects):
            continue
        subjects = list(dict.fromkeys(str(s) for s in t.subjects))
        yield (use.ts, replica, use.audit_seq, use.session_id, use.principal, use.purpose,
               t.table, subjects, list(t.clear_classes), list(t.masked_classes),
               t.aggregate, t.rows)


async def subject_report(conn: asyncpg.Connection, subject: str, table: str | None = None,
                         since=None) -> list[asyncpg.Record]:
    """Every exposure of one customer: when, who, which purpose, clear or masked."""
    return await conn.fetch(_REPORT, subject, table, since)
