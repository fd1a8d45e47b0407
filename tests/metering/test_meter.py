"""Metering with the real audit writer and state database: ledger, shared windows, CLI."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from gateway.audit.keys import AuditKeys
from gateway.audit.record import AuditRecord
from gateway.audit.spool import Spool
from gateway.audit.writer import AuditWriter
from gateway.cli import main
from gateway.metering.detection import load_detection
from gateway.metering.meter import Metering
from gateway.metering.usage import StatementUse, TableUse

KEYS = AuditKeys.derive("metering test secret, long enough")


class Collected:
    """Stands in for the dispatcher: these tests check what metering raises."""

    def __init__(self) -> None:
        self.alerts = []

    def raise_alert(self, alert) -> None:
        self.alerts.append(alert)


@pytest.fixture
async def pool(state_dsn):
    pool = await asyncpg.create_pool(state_dsn, min_size=1, max_size=4)
    yield pool
    await pool.close()


async def _writer(state_dsn, tmp_path, replica):
    writer = AuditWriter(KEYS, replica, lambda: asyncpg.connect(state_dsn),
                         Spool(tmp_path / replica), flush_interval=0.05)
    await writer.start()
    return writer


def _use(writer, principal, subjects, purpose="customer_service", **kw) -> StatementUse:
    seq = writer.submit(AuditRecord(principal=principal, purpose=purpose))
    table = TableUse("public.customers", rows=len(subjects), subjects=subjects,
                     clear_classes=["person_name"], masked_classes=["mobile"], **kw)
    return StatementUse(principal, purpose, "rewrite", [table], audit_seq=seq,
                        session_id="s1")


async def test_subjects_per_hour_adds_up_across_replicas(state_dsn, pool, tmp_path):
    principal = f"app_{uuid.uuid4().hex[:6]}"
    limits = {"customer_service": {"subjects_per_hour": 50}}
    collected = Collected()
    replicas = []
    for name in ("r1", "r2"):
        writer = await _writer(state_dsn, tmp_path, f"{name}-{principal}")
        replicas.append((writer, Metering(writer.replica, writer, collected, limits=limits,
                                          pool=pool)))
    for i, (writer, meter) in enumerate(replicas):  # 40 each, 20 shared: 60 distinct
        meter.observe(_use(writer, principal, [str(n) for n in range(i * 20, i * 20 + 40)]))
    for writer, _ in replicas:
        await writer.flush()
    for _, meter in replicas:
        await meter.evaluate()
    # each replica sees the shared total; one fingerprint, so the dispatcher sends one
    assert {(a.rule, a.details["subjects"], a.fingerprint) for a in collected.alerts} == {
        ("subjects_per_hour", 60, collected.alerts[0].fingerprint)}
    for writer, _ in replicas:
        await writer.close()


async def test_bulk_export_window_is_shared(state_dsn, pool, tmp_path):
    principal = f"app_{uuid.uuid4().hex[:6]}"
    detection = load_detection({"bulk_export": {"rows": 100, "window": 600}})
    collected = Collected()
    writer = await _writer(state_dsn, tmp_path, f"bulk-{principal}")
    meters = [Metering(f"r{i}", writer, collected, detection=detection, pool=pool)
              for i in range(2)]
    for meter in meters:
        meter.observe(_use(writer, principal, [str(n) for n in range(60)]))
    assert collected.alerts == []  # neither replica alone is over the limit
    for meter in meters:
        await meter.evaluate()
    assert [a.rule for a in collected.alerts] == ["bulk_export"]
    assert collected.alerts[0].details["observed"] == 120
    await writer.close()


async def test_subject_report_command(state_dsn, tmp_path, capsys):
    principal = f"app_{uuid.uuid4().hex[:6]}"
    writer = await _writer(state_dsn, tmp_path, f"rep-{principal}")
    meter = Metering(writer.replica, writer, Collected())
    meter.observe(_use(writer, principal, ["777001", "777002"]))
    meter.observe(_use(writer, principal, ["777001"], purpose="marketing", aggregate=True))
    await writer.close()
    config = tmp_path / "gateway.yaml"
    config.write_text(f"state: '{state_dsn}'\n")
    code = await asyncio.to_thread(main, ["--config", str(config), "subject", "report",
                                          "777001"])
    out = capsys.readouterr().out
    assert code == 0 and "2 exposure(s)" in out and "(aggregate)" in out
    assert "purpose=marketing" in out and "masked: mobile" in out


async def test_refused_statement_writes_no_ledger_row(state_dsn, tmp_path):
    writer = await _writer(state_dsn, tmp_path, f"deny-{uuid.uuid4().hex[:6]}")
    meter = Metering(writer.replica, writer, Collected())
    use = _use(writer, "crm_app", ["1"])
    use.decision = "deny"
    before = writer.queue_depth
    meter.observe(use)
    assert writer.queue_depth == before  # only the audit record, queued by _use
    await writer.close()


def test_rules_reload_changes_limits_and_detectors():
    meter = Metering("r1", None, collected := Collected())
    use = StatementUse("crm_app", "customer_service", "rewrite",
                       [TableUse("public.customers", rows=300, subjects=["1"])])
    meter.observe(use)
    assert collected.alerts == []
    meter.update_rules({"customer_service": {"rows_per_query": 200}}, {})
    meter.observe(use)
    meter.update_rules({"customer_service": {"rows_per_query": 200}}, {},
                       load_detection({"rows_per_query": {"enabled": False}}))
    meter.observe(use)
    assert [a.rule for a in collected.alerts] == ["rows_per_query"]


def test_rows_sent_before_an_error_are_in_the_ledger():
    from gateway.metering.ledger import exposure_rows

    use = StatementUse("crm_app", "customer_service", "error",
                       [TableUse("public.customers", rows=200, subjects=["1", "2"])])
    (row,) = exposure_rows(use, "r1")
    assert row[7] == ["1", "2"] and row[11] == 200


def test_metrics_carry_no_subject_ids():
    from prometheus_client import generate_latest

    from gateway.metrics import REGISTRY

    meter = Metering("r1", None, Collected(),
                     canaries={"public.customers": frozenset({"900001"})})
    meter.observe(StatementUse("crm_app", "customer_service", "rewrite", [TableUse(
        "public.customers", rows=2, subjects=["13812345678", "900001"], masked_cells=2)]))
    text = generate_latest(REGISTRY).decode()
    assert "13812345678" not in text and "900001" not in text
    assert 'pgw_canary_hits_total{table="public.customers"}' in text
