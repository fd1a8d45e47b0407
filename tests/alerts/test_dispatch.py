"""Grouping across replicas, suppressions and shadow mode, with the real state database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from gateway.alerts.dispatch import AlertDispatcher
from gateway.alerts.model import Alert
from gateway.alerts.sinks import build
from gateway.alerts.suppress import add_suppression


@pytest.fixture
async def pool(state_dsn):
    pool = await asyncpg.create_pool(state_dsn, min_size=1, max_size=4)
    yield pool
    await pool.close()


def _alert(**kw) -> Alert:
    base = dict(rule="subjects_per_hour", severity="warning", summary="too many customers",
                principal=f"p-{uuid.uuid4().hex[:6]}", purpose="customer_service",
                details={"observed": 600, "limit": 500})
    return Alert(**{**base, **kw})


async def test_two_replicas_send_one_grouped_alert(receiver, pool):
    sinks = build([{"url": receiver.url, "format": "json"}])
    replicas = [AlertDispatcher(sinks, pool, f"r{i}") for i in range(2)]
    for d in replicas:
        await d.start()
    alert = _alert()
    for i in range(6):
        replicas[i % 2].raise_alert(alert)
    for d in replicas:
        await d.close()
    assert len(receiver.requests) == 1
    row = await pool.fetchrow("SELECT count(*) AS n, max(occurrences) AS occ"
                              " FROM privacy_gateway.alerts WHERE fingerprint = $1",
                              alert.fingerprint)
    assert (row["n"], row["occ"]) == (1, 6)


async def test_suppression_is_stored_audited_and_silences(receiver, pool):
    audited = []
    alert = _alert()
    async with pool.acquire() as conn:
        await add_suppression(conn, audited.append, alert.rule, owner="secops-lee",
                              reason="load test", principal=alert.principal,
                              expires_at=datetime.now(UTC) + timedelta(hours=1))
    dispatcher = AlertDispatcher(build([{"url": receiver.url}]), pool, "r1")
    assert await dispatcher.process(alert) == "suppressed"
    assert receiver.requests == [] and audited[0].kind == "suppression"
    assert "secops-lee" in audited[0].reason
    with pytest.raises(ValueError):
        await add_suppression(None, audited.append, "x", owner="", reason="",
                              expires_at=datetime.now(UTC))


async def test_shadow_alert_is_stored_not_sent(receiver, pool):
    dispatcher = AlertDispatcher(build([{"url": receiver.url}]), pool, "r1")
    alert = _alert(shadow=True)
    assert await dispatcher.process(alert) == "shadow"
    assert receiver.requests == []
    assert await pool.fetchval("SELECT shadow FROM privacy_gateway.alerts"
                               " WHERE fingerprint = $1", alert.fingerprint)


async def test_without_state_database_alerts_still_go_out(receiver):
    dispatcher = AlertDispatcher(build([{"url": receiver.url}]), None, "r1")
    alert = _alert()
    outcomes = [await dispatcher.process(alert) for _ in range(3)]
    await dispatcher.drain()
    assert outcomes == ["new", "grouped", "grouped"] and len(receiver.requests) == 1


async def test_unreachable_receiver_does_not_stop_dispatch(pool):
    (sink,) = build([{"url": "http://127.0.0.1:1/none"}])
    sink.attempts, sink.backoff = 2, 0.01
    dispatcher = AlertDispatcher([sink], pool, "r1")
    await dispatcher.start()
    dispatcher.raise_alert(_alert())
    await asyncio.wait_for(dispatcher.close(), 5)


async def test_slow_sink_does_not_hold_back_the_next_alert(receiver, pool):
    slow, fast = build([{"url": "http://127.0.0.1:1/down"}, {"url": receiver.url}])
    slow.attempts, slow.backoff = 3, 0.75  # over 2 s of retries
    dispatcher = AlertDispatcher([slow, fast], pool, "r1")
    await dispatcher.start()
    dispatcher.raise_alert(_alert())
    dispatcher.raise_alert(_alert(rule="canary", severity="critical"))
    await receiver.wait(2, timeout=1.0)
    await dispatcher.close()
