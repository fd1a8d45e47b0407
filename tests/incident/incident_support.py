"""Helpers shared by the incident tests: a leak made the way the gateway makes one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from gateway.audit.keys import AuditKeys
from gateway.audit.record import AuditRecord
from gateway.audit.spool import Spool
from gateway.audit.writer import AuditWriter

KEY_ENV = "PGW_TEST_INCIDENT_AUDIT_KEY"
AUDIT_SECRET = "incident test audit secret"
CANARIES = ["900001", "900002"]
CUSTOMERS = "public.incident_test_customers"


def principal_name() -> str:
    return f"p_{uuid.uuid4().hex[:8]}"


async def leak(dsn: str, tmp_path: Path, principal: str, subjects: list[str],
               clear: list[str], masked: list[str], rule: str = "canary_read",
               severity: str = "critical", purpose: str = "customer_service",
               unattributed_rows: int = 0) -> int:
    """Audit records and exposure rows through the real writer, then an alert; its id.
    unattributed_rows: one more statement, such as a binary COPY, whose rows had no known
    customers (rows in the ledger, no subjects)."""
    keys = AuditKeys.derive(AUDIT_SECRET)
    writer = AuditWriter(keys, f"r-{uuid.uuid4().hex[:6]}", lambda: asyncpg.connect(dsn),
                         Spool(tmp_path / f"spool-{uuid.uuid4().hex[:6]}"),
                         checkpoint_every=5, retry_seconds=0.1)
    await writer.start()
    for start in range(0, len(subjects), 2):
        chunk = subjects[start:start + 2]
        seq = writer.submit(AuditRecord(session_id="s1", principal=principal, purpose=purpose,
                                        statement="SELECT * FROM public.customers",
                                        rows=len(chunk), subjects=len(chunk), decision="rewrite"))
        writer.add_exposure((datetime.now(UTC), writer.replica, seq, "s1", principal, purpose,
                             "public.customers", chunk, clear, masked, False, len(chunk)))
    if unattributed_rows:
        seq = writer.submit(AuditRecord(session_id="s1", principal=principal, purpose=purpose,
                                        statement="COPY public.customers TO STDOUT (FORMAT binary)",
                                        rows=unattributed_rows, subjects=0, decision="rewrite"))
        writer.add_exposure((datetime.now(UTC), writer.replica, seq, "s1", principal, purpose,
                             "public.customers", [], clear, masked, False, unattributed_rows))
    await writer.close()
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "INSERT INTO privacy_gateway.alerts (rule, severity, principal, purpose, summary,"
            " fingerprint) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", rule, severity,
            principal, purpose, f"{len(subjects)} rows", uuid.uuid4().hex[:16])
    finally:
        await conn.close()


async def wait_for(predicate, timeout: float = 2.0) -> float:
    """Seconds until predicate() is true (AssertionError after timeout)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not predicate():
        if loop.time() - start > timeout:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
    return loop.time() - start
