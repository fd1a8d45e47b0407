"""Detectors that compare with history in the state database, run in the background.

subjects_per_hour (limit), baseline (EWMA per hour of week) and new_table (a principal
reading a table for the first time) need the ledger of every replica, so they are
checked once per metering interval for the principals active since the last check.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

import asyncpg

from gateway.alerts.model import Alert
from gateway.metering import baseline
from gateway.metering.detection import DETECTORS, DetectionConfig, Setting
from gateway.metering.detectors import Detectors
from gateway.metering.usage import StatementUse
from gateway.metering.windows import SubjectWindows

_READ_BEFORE = """
SELECT EXISTS (SELECT 1 FROM privacy_gateway.exposure
                WHERE principal = $1 AND table_name = $2 AND ts < $3),
       (SELECT min(ts) FROM privacy_gateway.exposure WHERE principal = $1)"""


class Due(NamedTuple):
    """Checks noted and not run yet: principal x purpose keys, first reads of a table."""

    subjects: list[tuple[str, str]]
    new_tables: dict[tuple[str, str, str], datetime]


class HistoryChecks:
    """Remembers what to check; `evaluate` asks the state database and returns alerts."""

    def __init__(self, detection: DetectionConfig, detectors: Detectors) -> None:
        self.detection, self.detectors = detection, detectors
        self.subjects = SubjectWindows()
        self._seen_tables: set[tuple[str, str]] = set()
        self._new_tables: dict[tuple[str, str, str], datetime] = {}
        self._folded_hour: datetime | None = None

    def note(self, use: StatementUse) -> None:
        """Record what this statement makes worth checking (no I/O)."""
        if not (use.principal and use.purpose):
            return
        if any(t.subjects for t in use.tables) and (
                self.detection.get("baseline")
                or self.detectors.limit("subjects_per_hour", use.purpose) is not None):
            self.subjects.touch(use.principal, use.purpose)
        if self.detection.get("new_table"):
            for t in use.tables:
                if (use.principal, t.table) not in self._seen_tables and (t.rows or t.aggregate):
                    self._seen_tables.add((use.principal, t.table))
                    self._new_tables[(use.principal, use.purpose, t.table)] = use.ts

    def take(self) -> Due:
        """What was noted since the last evaluation, to check once the ledger rows behind
        it are stored (see Metering.evaluate)."""
        pending, self._new_tables = self._new_tables, {}
        return Due(self.subjects.due(), pending)

    async def evaluate(self, conn: asyncpg.Connection, now: datetime,
                       due: Due | None = None) -> list[Alert]:
        due = due or self.take()
        alerts: list[Alert] = []
        await self._fold(conn, now)
        for principal, purpose in due.subjects:
            alerts += await self._hourly(conn, principal, purpose, now)
        for (principal, purpose, table), first in due.new_tables.items():
            alerts += await self._new_table(conn, principal, purpose, table, first, now)
        return alerts

    async def _fold(self, conn: asyncpg.Connection, now: datetime) -> None:
        setting = self.detection.get("baseline")
        if setting and self._folded_hour != baseline.hour_start(now):
            await baseline.fold_previous_hour(conn, now, setting["alpha"])
            self._folded_hour = baseline.hour_start(now)

    async def _hourly(self, conn: asyncpg.Connection, principal: str, purpose: str,
                      now: datetime) -> list[Alert]:
        count = await SubjectWindows.count(conn, principal, purpose, now)
        out = []
        limit = self.detectors.limit("subjects_per_hour", purpose)
        setting = self.detection.get("subjects_per_hour")
        if setting and limit is not None and count > limit:
            out.append(_alert(setting, principal, purpose,
                              f"{count} distinct customers read in the last hour (limit {limit})",
                              subjects=count, limit=limit))
        setting = self.detection.get("baseline")
        known = setting and await baseline.fetch(conn, principal, purpose, now)
        if known and baseline.anomalous(count, *known, setting["min_history"], setting["k"],
                                        setting["floor"]):
            hours, mean, var = known
            out.append(_alert(setting, principal, purpose,
                              f"{count} distinct customers in the last hour, usually"
                              f" about {mean:.0f} at this hour of the week",
                              subjects=count, mean=round(mean, 1),
                              stddev=round(var ** 0.5, 1), history_hours=hours))
        if out:
            self.subjects.fired((principal, purpose))
        return out

    async def _new_table(self, conn: asyncpg.Connection, principal: str, purpose: str,
                         table: str, first: datetime, now: datetime) -> list[Alert]:
        setting = self.detection.get("new_table")
        read_before, since = await conn.fetchrow(_READ_BEFORE, principal, table, first)
        established = since is not None and since < now - timedelta(
            days=setting["min_history_days"])
        if read_before or not established:
            return []
        return [_alert(setting, principal, purpose, f"first read of {table} by this principal",
                       group=table, table=table)]


def _alert(setting: Setting, principal: str, purpose: str, summary: str, group: str = "",
           **details) -> Alert:
    _, _, meaning = DETECTORS[setting.name]
    return Alert(rule=setting.name, severity=setting.severity, shadow=setting.shadow,
                 summary=summary, principal=principal, purpose=purpose, group=group,
                 details={"explanation": meaning, **details})
