"""Statement use in, alert out: metering, dispatcher, state database and a real receiver."""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg
import pytest

from gateway.audit.keys import AuditKeys
from gateway.audit.record import AuditRecord
from gateway.audit.store import read_log
from gateway.audit.verify import verify_chain
from gateway.config import load
from gateway.metering.runtime import start_accounting
from gateway.metering.usage import StatementUse, TableUse

SECRET = "end to end audit secret, test only"


@pytest.fixture
async def accounting(state_dsn, receiver, tmp_path, monkeypatch):
    monkeypatch.setenv("PGW_AUDIT_KEY", SECRET)
    (tmp_path / "gateway.yaml").write_text("{}\n")
    config = load(tmp_path / "gateway.yaml", overrides={
        "state": state_dsn, "audit_spool": str(tmp_path / "spool"),
        "alerts": [{"type": "webhook", "url": f"{receiver.url}/am", "format": "alertmanager"}]})
    acc = await start_accounting(
        config, replica=f"e2e-{time.monotonic_ns()}",
        limits={"customer_service": {"rows_per_query": 200}},
        canaries={"public.customers": frozenset({"900001", "900002"})})
    yield acc
    await acc.close()


def _read(acc, subjects, rows=None) -> StatementUse:
    seq = acc.auditor.submit(AuditRecord(principal="crm_app", purpose="customer_service",
                                         decision="rewrite"))
    table = TableUse("public.customers", rows=rows or len(subjects), subjects=subjects,
                     masked_classes=["mobile"])
    return StatementUse("crm_app", "customer_service", "rewrite", [table], audit_seq=seq)


async def test_canary_read_gives_one_critical_alert_within_two_seconds(accounting, receiver):
    started = time.monotonic()
    accounting.metering.observe(_read(accounting, ["12", "900001"]))
    await receiver.wait(1, timeout=2)
    assert time.monotonic() - started < 2
    accounting.metering.observe(_read(accounting, ["900002"]))
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == 1
    (item,) = json.loads(receiver.requests[0]["body"])["alerts"]
    assert item["labels"]["severity"] == "critical" and item["labels"]["alertname"] == "canary"
    assert "900001" not in receiver.requests[0]["body"].decode()


async def test_bulk_reads_over_limit_give_one_grouped_alert(accounting, receiver, state_dsn):
    for _ in range(3):
        accounting.metering.observe(_read(accounting, [str(i) for i in range(500)]))
    await receiver.wait(1, timeout=2)
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == 1
    conn = await asyncpg.connect(state_dsn)
    try:
        assert await conn.fetchval(
            "SELECT occurrences FROM privacy_gateway.alerts WHERE rule = 'rows_per_query'"
            " AND replica = $1", accounting.auditor.replica) == 3
    finally:
        await conn.close()


async def test_closed_accounting_leaves_a_verifiable_chain(state_dsn, accounting):
    accounting.metering.observe(_read(accounting, ["1"]))
    await accounting.auditor.flush()
    await accounting.auditor.close()
    conn = await asyncpg.connect(state_dsn)
    try:
        async with conn.transaction():
            rows = [r async for r in read_log(conn, accounting.auditor.replica)]
    finally:
        await conn.close()
    report = verify_chain(rows, AuditKeys.derive(SECRET))
    assert report.ok and report.open_chains == []


@pytest.mark.parametrize(("interval", "landed"), [(0.05, True), (30, False)])
async def test_the_buffered_writer_commits_at_the_configured_interval(
        state_dsn, tmp_path, monkeypatch, interval: float, landed: bool) -> None:
    monkeypatch.setenv("PGW_AUDIT_KEY", SECRET)
    (tmp_path / "gateway.yaml").write_text(f"audit_flush_interval: {interval}\n")
    config = load(tmp_path / "gateway.yaml", overrides={
        "state": state_dsn, "audit_spool": str(tmp_path / "spool")})
    replica = f"interval-{time.monotonic_ns()}"
    acc = await start_accounting(config, replica=replica)
    try:
        seq = acc.auditor.submit(AuditRecord(principal="crm_app", decision="allow"))
        await asyncio.sleep(1.0)
        conn = await asyncpg.connect(state_dsn)
        try:
            found = await conn.fetchval("SELECT count(*) FROM privacy_gateway.audit_log "
                                        "WHERE replica = $1 AND seq = $2", replica, seq)
        finally:
            await conn.close()
        assert found == int(landed)
    finally:
        await acc.close()  # flushes what is still buffered
