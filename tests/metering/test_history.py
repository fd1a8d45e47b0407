"""Baseline (EWMA) and new-table detectors against the real state database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from gateway.audit.keys import AuditKeys
from gateway.audit.spool import Spool
from gateway.audit.writer import AuditWriter
from gateway.metering import baseline
from gateway.metering.detection import load_detection
from gateway.metering.meter import Metering
from gateway.metering.usage import StatementUse, TableUse

KEYS = AuditKeys.derive("history test secret, long enough")


class Collected:
    def __init__(self) -> None:
        self.alerts = []

    def raise_alert(self, alert) -> None:
        self.alerts.append(alert)


@pytest.mark.parametrize("count,hours,mean,var,fires", [
    (500, 10, 50.0, 100.0, True),
    (500, 3, 50.0, 100.0, False),     # too little history
    (90, 10, 5.0, 1.0, False),        # under the absolute floor
    (120, 10, 100.0, 400.0, False),   # within mean + 3 sd
])
def test_anomalous(count, hours, mean, var, fires):
    assert baseline.anomalous(count, hours, mean, var, min_history=4, k=3.0,
                              floor=100) is fires


@pytest.fixture
async def setup(state_dsn, tmp_path):
    pool = await asyncpg.create_pool(state_dsn, min_size=1, max_size=2)
    writer = AuditWriter(KEYS, f"hist-{uuid.uuid4().hex[:6]}",
                         lambda: asyncpg.connect(state_dsn), Spool(tmp_path / "spool"))
    await writer.start()
    yield pool, writer
    await writer.close()
    await pool.close()


def _ledger(writer, ts, principal, table, subjects):
    writer.add_exposure((ts, writer.replica, None, "s", principal, "customer_service", table,
                         subjects, [], ["mobile"], False, len(subjects)))


async def test_fold_matches_python_ewma_and_runs_once(setup):
    pool, writer = setup
    principal = f"app_{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    previous = baseline.hour_start(now) - timedelta(hours=1)
    _ledger(writer, previous + timedelta(minutes=5), principal, "public.customers",
            [str(i) for i in range(40)])
    await writer.flush()
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO privacy_gateway.detector_baseline VALUES ($1, 'customer_service',"
            " $2, 7, 10, 4, $3)", principal, baseline.hour_of_week(previous),
            previous - timedelta(days=7))
        await conn.execute("DELETE FROM privacy_gateway.detector_counts"
                           " WHERE rule = 'baseline_fold'")
        assert await baseline.fold_previous_hour(conn, now, 0.3)
        assert not await baseline.fold_previous_hour(conn, now, 0.3)
        row = await conn.fetchrow("SELECT hours, mean, var FROM privacy_gateway.detector_baseline"
                                  " WHERE principal = $1", principal)
    assert row["hours"] == 8
    assert (row["mean"], row["var"]) == pytest.approx(baseline.ewma(10, 4, 40, 0.3))


async def test_baseline_alert_when_far_above_usual(setup):
    pool, writer = setup
    principal = f"app_{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO privacy_gateway.detector_baseline VALUES ($1, 'customer_service',"
            " $2, 10, 5, 1, $3)", principal, baseline.hour_of_week(now), now)
    collected = Collected()
    meter = Metering(writer.replica, writer, collected, pool=pool,
                     detection=load_detection({"baseline": {"floor": 100}}))
    meter.observe(StatementUse(principal, "customer_service", "rewrite", [
        TableUse("public.customers", rows=150, subjects=[str(i) for i in range(150)])]))
    await writer.flush()
    await meter.evaluate()
    assert [a.rule for a in collected.alerts] == ["baseline"]
    assert collected.alerts[0].details["subjects"] == 150


async def test_new_table_for_established_principal(setup):
    pool, writer = setup
    principal = f"app_{uuid.uuid4().hex[:6]}"
    old = datetime.now(UTC) - timedelta(days=10)
    _ledger(writer, old, principal, "public.customers", ["1"])
    await writer.flush()
    collected = Collected()
    meter = Metering(writer.replica, writer, collected, pool=pool)
    for table in ("public.customers", "public.orders"):
        meter.observe(StatementUse(principal, "customer_service", "rewrite",
                                   [TableUse(table, rows=1, subjects=["1"])]))
    await writer.flush()
    await meter.evaluate()
    assert [(a.rule, a.details["table"]) for a in collected.alerts] == [
        ("new_table", "public.orders")]
