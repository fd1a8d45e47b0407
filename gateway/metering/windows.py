"""Window counts shared by every replica, kept in the state database.

Each replica adds its increments to its own row of privacy_gateway.detector_counts (no
contention between replicas) and reads the sum over all replicas. Distinct subjects per
hour are counted from the exposure ledger itself, which every replica writes, so a
customer seen by two gateways counts once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import asyncpg

from gateway.metering.detectors import Increment

_UPSERT = """
INSERT INTO privacy_gateway.detector_counts AS d (rule, key, window_start, replica, value)
SELECT r, k, w, $4, v FROM unnest($1::text[], $2::text[], $3::timestamptz[], $5::bigint[])
       AS t(r, k, w, v)
ON CONFLICT (rule, key, window_start, replica) DO UPDATE SET value = d.value + EXCLUDED.value"""
_TOTALS = """
SELECT d.rule, d.key, d.window_start, sum(d.value)::bigint AS total
  FROM privacy_gateway.detector_counts d
  JOIN unnest($1::text[], $2::text[], $3::timestamptz[]) AS t(r, k, w)
    ON d.rule = t.r AND d.key = t.k AND d.window_start = t.w
 GROUP BY 1, 2, 3"""
_SUBJECTS = """
SELECT count(DISTINCT s) FROM privacy_gateway.exposure e, unnest(e.subjects) AS s
 WHERE e.principal = $1 AND e.purpose = $2 AND e.ts > $3"""

WindowKey = tuple[str, str, int]  # rule, key, window start in epoch seconds


class SharedWindows:
    """Pending local increments and the thresholds they are checked against."""

    def __init__(self, replica: str) -> None:
        self.replica = replica
        self._pending: dict[WindowKey, int] = {}
        self._local: dict[WindowKey, int] = {}
        self._thresholds: dict[WindowKey, int] = {}
        self._fired: set[WindowKey] = set()

    def add(self, inc: Increment, threshold: int) -> int | None:
        """Queue an increment; return the local total when it alone crosses the threshold."""
        key = (inc.rule, inc.key, inc.start)
        self._pending[key] = self._pending.get(key, 0) + inc.value
        self._local[key] = total = self._local.get(key, 0) + inc.value
        self._thresholds[key] = threshold
        return self._fire(key, total)

    async def flush(self, conn: asyncpg.Connection) -> list[tuple[WindowKey, int, int]]:
        """Write pending increments; return (window, total, threshold) now over it."""
        if not self._pending:
            return []
        pending, self._pending = self._pending, {}
        keys = list(pending)
        columns = [list(c) for c in zip(*keys, strict=True)]
        columns[2] = [datetime.fromtimestamp(start, UTC) for start in columns[2]]
        try:
            await conn.execute(_UPSERT, *columns, self.replica, list(pending.values()))
            rows = await conn.fetch(_TOTALS, *columns)
        except BaseException:
            for key, value in pending.items():  # keep them for the next flush
                self._pending[key] = self._pending.get(key, 0) + value
            raise
        over = []
        for r in rows:
            key = (r["rule"], r["key"], int(r["window_start"].timestamp()))
            if self._fire(key, r["total"]):
                over.append((key, r["total"], self._thresholds[key]))
        return over

    def _fire(self, key: WindowKey, total: int) -> int | None:
        if key in self._fired or total <= self._thresholds.get(key, total):
            return None
        self._fired.add(key)
        return total

    def forget_before(self, cutoff: datetime) -> None:
        """Drop windows that ended; keeps memory bounded."""
        limit = int(cutoff.timestamp())
        for table in (self._local, self._thresholds):
            for key in [k for k in table if k[2] < limit]:
                del table[key]
        self._fired = {k for k in self._fired if k[2] >= limit}


class SubjectWindows:
    """Distinct subjects per principal x purpose over the last hour, across replicas."""

    def __init__(self, hold_seconds: float = 60.0) -> None:
        self._active: set[tuple[str, str]] = set()
        self._quiet_until: dict[tuple[str, str], float] = {}
        self.hold_seconds = hold_seconds

    def touch(self, principal: str, purpose: str) -> None:
        self._active.add((principal, purpose))

    def due(self) -> list[tuple[str, str]]:
        """Keys seen since the last evaluation and not just alerted."""
        now = time.monotonic()
        keys = [k for k in self._active if self._quiet_until.get(k, 0) <= now]
        self._active.clear()
        return keys

    def fired(self, key: tuple[str, str]) -> None:
        self._quiet_until[key] = time.monotonic() + self.hold_seconds

    @staticmethod
    async def count(conn: asyncpg.Connection, principal: str, purpose: str,
                    now: datetime) -> int:
        return await conn.fetchval(_SUBJECTS, principal, purpose, now - timedelta(hours=1))
