"""Metering: what the session calls per statement (metrics, exposure ledger, detectors).

`observe(use)` is synchronous and does no I/O: it updates Prometheus metrics, queues the
exposure ledger rows on the audit writer's batching path, runs the per-statement
detectors and queues window increments. A background task adds the windows up across
replicas in the state database once per `interval` and raises what crossed a limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

import asyncpg

from gateway import tasks
from gateway.alerts.dispatch import SETTLE_SECONDS
from gateway.alerts.model import Alert
from gateway.metering.detection import DetectionConfig, load_detection
from gateway.metering.detectors import KEY_SEPARATOR, Detectors
from gateway.metering.history import HistoryChecks
from gateway.metering.ledger import exposure_rows
from gateway.metering.usage import StatementUse
from gateway.metering.windows import SharedWindows
from gateway.metrics import STATEMENTS, TABLE_READS, metric

log = logging.getLogger(__name__)

_WINDOW_TEXT = {"bulk_export": "rows read from classified tables",
                "refused_burst": "statements refused"}


class Metering:
    """One per gateway process; `ledger` is the audit writer, `alerts` the dispatcher."""

    def __init__(self, replica: str, ledger=None, alerts=None,
                 detection: DetectionConfig | None = None,
                 limits: Mapping[str, Mapping[str, int]] | None = None,
                 canaries: Mapping[str, frozenset[str]] | None = None,
                 pool: asyncpg.Pool | None = None, interval: float = 1.0) -> None:
        self.replica, self.pool, self.interval = replica, pool, interval
        self._add_exposure: Callable[[tuple], None] | None = (
            ledger.add_exposure if ledger else None)
        self._settled: Callable[[], Awaitable[None]] | None = (
            ledger.settled if ledger else None)
        self._raise: Callable[[Alert], None] = alerts.raise_alert if alerts else _drop
        self.detection = detection or load_detection(None)
        self.detectors = Detectors(self.detection, limits or {}, canaries or {})
        self.windows = SharedWindows(replica)
        self.history = HistoryChecks(self.detection, self.detectors)
        self._task: asyncio.Task | None = None
        self.quiet_without_tables = self._quiet()

    def _quiet(self) -> bool:
        """True when no detector can fire for a statement that read no classified table
        and was not refused (then such a statement only needs `count`): it holds unless
        a limit of rows below zero or an off_hours bound of zero rows is configured."""
        off_hours = self.detection.get("off_hours")
        limits = [self.detectors.limit("rows_per_query", p)
                  for p in (None, *self.detectors.limits)]
        return (not off_hours or off_hours["rows"] > 0) and all(
            limit is None or limit >= 0 for limit in limits)

    def update_rules(self, limits: Mapping[str, Mapping[str, int]],
                     canaries: Mapping[str, frozenset[str]],
                     detection: DetectionConfig | None = None) -> None:
        """New limits, canaries and (when given) detectors after a rules reload.

        Window counts are kept; the local enumeration history starts afresh."""
        if detection is not None:
            self.detection = detection
            self.detectors = Detectors(detection, limits, canaries)
            self.history.detection, self.history.detectors = detection, self.detectors
        else:
            self.detectors.limits, self.detectors.canaries = limits, canaries
        self.quiet_without_tables = self._quiet()

    # -- hot path ------------------------------------------------------------------------

    def count(self, decision: str, duration_s: float) -> None:
        """Account for a statement that read no classified table and was not refused,
        when quiet_without_tables holds (observe would do only this)."""
        STATEMENTS.add(decision, duration_s)

    def observe(self, use: StatementUse) -> None:
        """Account for one finished (or refused) statement. Never waits."""
        STATEMENTS.add(use.decision, use.duration_s)
        self._exposure(use)
        for inc, threshold in self.detectors.increments(use):
            total = self.windows.add(inc, threshold)
            if total is not None:
                self._raise(self._window_alert(inc.rule, inc.key, total, threshold))
        self.history.note(use)

    def observe_batch(self, use: StatementUse) -> None:
        """Subjects handed over by a statement still running (rows 0: they are counted
        when it ends): ledger rows, subject metrics, canaries, the subject windows."""
        self._exposure(use)
        self.history.note(use)

    def _exposure(self, use: StatementUse) -> None:
        for t in use.tables:
            TABLE_READS.add((use.principal or "", use.purpose or "", t.table),
                            (t.rows, len(set(t.subjects)), t.masked_cells))
        if self._add_exposure is not None:
            for row in exposure_rows(use, self.replica):
                self._add_exposure(row)
        for found in self.detectors.check(use):
            if found.rule == "canary":
                metric("canary_hits").labels(found.details["table"]).inc(found.details["hits"])
            self._raise(found)

    # -- background ----------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="metering-windows")

    async def close(self) -> None:
        await tasks.cancel(self._task)
        self._task = None
        if self.pool is not None:
            with contextlib.suppress(Exception):
                await self.evaluate()  # last increments still reach the shared windows

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.evaluate()
            except Exception as exc:  # keep evaluating; the type only (rows can be quoted)
                log.warning("metering: window evaluation failed (%s); increments kept",
                            type(exc).__name__)

    async def evaluate(self) -> None:
        """Add window counts up across replicas and raise what crossed a limit."""
        if self.pool is None:
            return
        due = self.history.take()
        if self._settled is not None and (due.subjects or due.new_tables):
            # The history checks count ledger rows: wait (briefly, as alerts do) for the
            # rows queued before these notes, or a buffered flush still on its way would
            # be missed and the key not checked again until it is touched again.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._settled(), SETTLE_SECONDS)
        now = datetime.now(UTC)
        async with self.pool.acquire() as conn:
            for (rule, key, _start), total, threshold in await self.windows.flush(conn):
                self._raise(self._window_alert(rule, key, total, threshold))
            for found in await self.history.evaluate(conn, now, due):
                self._raise(found)
        self.windows.forget_before(now - timedelta(hours=2))

    def _window_alert(self, rule: str, key: str, total: int, threshold: int) -> Alert:
        setting = self.detection.get(rule)
        principal, _, purpose = key.partition(KEY_SEPARATOR)
        what = _WINDOW_TEXT[rule]
        return Alert(rule=rule, severity=setting.severity, shadow=setting.shadow,
                     summary=f"{total} {what} within {setting['window']}s (limit {threshold})",
                     principal=principal, purpose=purpose,
                     details={"explanation": f"{what} in a window, across all gateways",
                              "observed": total, "limit": threshold,
                              "window_seconds": setting["window"]})


def _drop(alert: Alert) -> None:
    log.warning("metering: no alert dispatcher; %s alert not sent", alert.rule)
