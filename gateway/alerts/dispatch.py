"""Raise alerts: group by fingerprint across replicas, apply suppressions, deliver to sinks.

`raise_alert` is synchronous and only queues; a background task stores the alert in
privacy_gateway.alerts under a per-fingerprint advisory lock, so when several replicas
see the same finding within the grouping window exactly one alert row is created and
sent; later ones only add to its `occurrences`. If the state database is unreachable the
alert is still sent (grouped in memory): a duplicate is better than a silent leak.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable

import asyncpg

from gateway.alerts.model import Alert
from gateway.alerts.sinks.base import AlertSink, DeliveryError
from gateway.metrics import metric

log = logging.getLogger(__name__)

_SUPPRESSED = """
SELECT id FROM privacy_gateway.alert_suppressions
 WHERE rule = $1 AND (principal IS NULL OR principal = $2) AND (purpose IS NULL OR purpose = $3)
   AND expires_at > now() ORDER BY id LIMIT 1"""
_GROUP = """
UPDATE privacy_gateway.alerts SET occurrences = occurrences + $3, last_seen = now()
 WHERE id = (SELECT id FROM privacy_gateway.alerts WHERE fingerprint = $1
              AND ts > now() - make_interval(secs => $2) ORDER BY id DESC LIMIT 1)
RETURNING id"""
_INSERT = """
INSERT INTO privacy_gateway.alerts (ts, rule, severity, principal, purpose, summary, details,
                                    fingerprint, replica, shadow, suppressed_by, occurrences)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12) RETURNING id"""


SETTLE_SECONDS = 2.0  # an alert waits this long at most for the evidence behind it


class AlertDispatcher:
    """Queue, group, store and deliver alerts."""

    def __init__(self, sinks: list[AlertSink], pool: asyncpg.Pool | None, replica: str,
                 group_seconds: float = 300.0,
                 settled: Callable[[], Awaitable[None]] | None = None) -> None:
        self.sinks, self.pool, self.replica = sinks, pool, replica
        # Evidence first: an alert is stored only once the audit records and ledger rows
        # queued before it are, so an incident opened from it finds every exposure.
        self.settled = settled
        self.group_seconds = group_seconds
        self._queue: asyncio.Queue[Alert | None] = asyncio.Queue()
        self._local: dict[str, float] = {}  # fingerprint -> monotonic time sent
        self._queued: dict[str, int] = {}  # fingerprint -> occurrences waiting in the queue
        self._task: asyncio.Task | None = None
        self._deliveries: set[asyncio.Task] = set()

    def raise_alert(self, alert: Alert) -> None:
        """Queue an alert (never waits). Repeats of one still queued only add to its count,
        so a detector firing on every statement costs one database round trip, not many."""
        fingerprint = alert.fingerprint
        if fingerprint in self._queued:
            self._queued[fingerprint] += 1
            return
        self._queued[fingerprint] = 1
        self._queue.put_nowait(dataclasses.replace(alert, replica=alert.replica or self.replica))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="alert-dispatcher")

    async def close(self) -> None:
        """Deliver what is queued, then stop."""
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
            self._task = None
        await self.drain()
        for sink in self.sinks:
            await sink.close()

    async def drain(self) -> None:
        """Wait for deliveries under way."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries))

    async def _run(self) -> None:
        while (alert := await self._queue.get()) is not None:
            count = self._queued.pop(alert.fingerprint, 1)
            alert = dataclasses.replace(alert, occurrences=count)
            try:
                if self.settled is not None:
                    await asyncio.wait_for(self.settled(), SETTLE_SECONDS)
                await self.process(alert)
            except Exception as exc:  # one bad alert must not stop the next ones
                log.error("alerts: processing failed for rule %s (%s)", alert.rule,
                          type(exc).__name__)

    async def process(self, alert: Alert) -> str:
        """Store and deliver one alert; returns new | grouped | suppressed | shadow."""
        stored, outcome = await self._store(alert)
        if outcome == "new" and not alert.shadow:
            metric("alerts").labels(alert.rule, alert.severity).inc()
            # Delivery runs on its own: a receiver that retries must not hold back the
            # next alert (a canary behind a slow webhook would miss its 2 seconds).
            task = asyncio.create_task(self._deliver_all(stored))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        return "shadow" if alert.shadow and outcome == "new" else outcome

    async def _store(self, alert: Alert) -> tuple[Alert, str]:
        if self.pool is None:
            return alert, self._group_locally(alert)
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                return await _store_in(conn, alert, self.group_seconds)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("alerts: state database unavailable (%s); grouping in memory",
                        type(exc).__name__)
            return alert, self._group_locally(alert)

    def _group_locally(self, alert: Alert) -> str:
        now = time.monotonic()
        sent = self._local.get(alert.fingerprint)
        if sent is not None and now - sent < self.group_seconds:
            return "grouped"
        self._local[alert.fingerprint] = now
        return "new"

    async def _deliver_all(self, alert: Alert) -> None:
        await asyncio.gather(*(self._deliver(sink, alert) for sink in self.sinks))

    async def _deliver(self, sink: AlertSink, alert: Alert) -> None:
        try:
            await sink.send(alert)
            metric("alert_deliveries").labels(sink.name, "ok").inc()
        except DeliveryError as exc:
            metric("alert_deliveries").labels(sink.name, "failed").inc()
            log.error("alerts: %s", exc)


async def _store_in(conn: asyncpg.Connection, alert: Alert,
                    group_seconds: float) -> tuple[Alert, str]:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", alert.fingerprint)
    if await conn.fetchval(_GROUP, alert.fingerprint, group_seconds, alert.occurrences):
        return alert, "grouped"
    suppressed = await conn.fetchval(_SUPPRESSED, alert.rule, alert.principal, alert.purpose)
    alert_id = await conn.fetchval(
        _INSERT, alert.ts, alert.rule, alert.severity, alert.principal, alert.purpose,
        alert.summary, json.dumps(alert.details), alert.fingerprint, alert.replica,
        alert.shadow, suppressed, alert.occurrences)
    stored = dataclasses.replace(alert, id=alert_id)
    return stored, "suppressed" if suppressed else "new"
