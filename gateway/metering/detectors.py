"""Leak detectors (sans-IO): per-statement checks and the window counts they feed.

Checks that need only the statement (canary, rows_per_query, off_hours) and the local
enumeration walk return alerts at once. Window detectors (bulk_export, refused_burst,
subjects_per_hour) return increments; metering adds them up across replicas in the state
database and compares the totals with `threshold` here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

from gateway.alerts.model import Alert
from gateway.metering.detection import DetectionConfig, Setting
from gateway.metering.usage import StatementUse

# Joins principal and purpose in window keys (text columns cannot hold NUL).
KEY_SEPARATOR = "\x1f"


class Increment(NamedTuple):
    """Add `value` to window `start` of (rule, key); `key` holds names, never subject ids.

    A named tuple: made for every statement that reads rows, and a frozen dataclass
    costs several times more to build."""

    rule: str
    key: str
    start: int  # epoch seconds (cheaper than datetimes on the hot path)
    value: int


def window_start(ts: datetime | float, seconds: int) -> int:
    """Epoch second at which the `seconds`-long window holding `ts` starts."""
    stamp = int(ts if isinstance(ts, float | int) else ts.timestamp())
    return stamp - stamp % seconds


def alert(setting: Setting, use: StatementUse, summary: str, group: str = "",
          **details) -> Alert:
    explanation = details.pop("explanation")
    return Alert(rule=setting.name, severity=setting.severity, summary=summary,
                 principal=use.principal, purpose=use.purpose, group=group,
                 shadow=setting.shadow, details={"explanation": explanation, **details})


class Detectors:
    """Runs the detectors for one gateway; holds only the local enumeration history."""

    def __init__(self, config: DetectionConfig, limits: Mapping[str, Mapping[str, int]],
                 canaries: Mapping[str, frozenset[str]]) -> None:
        self.config, self.limits, self.canaries = config, limits, canaries
        self._walks: dict[tuple, Walk] = {}
        # Looked up per statement: the config does not change for this object's life
        self._on = {name: config.get(name) for name in config.settings}

    def limit(self, rule: str, purpose: str | None) -> int | None:
        """A purpose's limit from the rules, else the detector's own `limit`."""
        setting = self._on.get(rule)
        own = (self.limits.get(purpose or "") or {}).get(rule)
        return own if own is not None else (setting["limit"] if setting else None)

    def check(self, use: StatementUse) -> list[Alert]:
        """Alerts this statement raises on its own."""
        found = self._canary(use) + self._rows_per_query(use) + self._off_hours(use)
        return found + self._enumeration(use) if use.tables else found

    def increments(self, use: StatementUse) -> list[tuple[Increment, int]]:
        """(increment, threshold) pairs for the window detectors."""
        key = f"{use.principal}{KEY_SEPARATOR}{use.purpose}"
        out = []
        bulk, refused = self._on.get("bulk_export"), self._on.get("refused_burst")
        rows = use.rows
        if bulk and rows:
            start = window_start(use.ts.timestamp(), bulk["window"])
            out.append((Increment("bulk_export", key, start, rows), bulk["rows"]))
        if refused and use.refused:
            start = window_start(use.ts.timestamp(), refused["window"])
            out.append((Increment("refused_burst", key, start, 1), refused["count"]))
        return out

    def _canary(self, use: StatementUse) -> list[Alert]:
        setting = self._on.get("canary")
        if not setting or not use.tables:
            return []
        out = []
        for t in use.tables:
            known = self.canaries.get(t.table, frozenset())
            hits = max(t.canary_hits, len(known.intersection(t.subjects)) if known else 0)
            if hits:
                out.append(alert(setting, use, f"{hits} canary subject(s) returned from"
                                 f" {t.table}", group=t.table, table=t.table, hits=hits,
                                 explanation="canary customers exist only to detect leaks;"
                                 " no legitimate work reads them"))
        return out

    def _rows_per_query(self, use: StatementUse) -> list[Alert]:
        setting, limit = self._on.get("rows_per_query"), self.limit("rows_per_query",
                                                                 use.purpose)
        if not setting or limit is None or use.rows <= limit:
            return []
        return [alert(setting, use, f"one statement returned {use.rows} rows (limit {limit})",
                      rows=use.rows, limit=limit,
                      explanation="more rows than the purpose allows in one statement")]

    def _off_hours(self, use: StatementUse) -> list[Alert]:
        setting = self._on.get("off_hours")
        if not setting or use.rows < setting["rows"]:
            return []
        hour = (use.ts.hour + setting["utc_offset"]) % 24
        if setting["start"] <= hour < setting["end"]:
            return []
        return [alert(setting, use, f"{use.rows} rows read at {hour:02d}h local time",
                      rows=use.rows, hour=hour,
                      explanation=f"bulk read outside {setting['start']:02d}-"
                      f"{setting['end']:02d}h")]

    def _enumeration(self, use: StatementUse) -> list[Alert]:
        setting = self._on.get("enumeration")
        if not setting:
            return []
        out = []
        for t in use.tables:
            if len(t.subjects) != 1 or not str(t.subjects[0]).isdigit():
                continue
            walk = self._walks.get((use.principal, use.purpose, t.table))
            if walk is None:
                walk = self._walks[(use.principal, use.purpose, t.table)] = Walk(setting)
            run = walk.add(use.ts.timestamp(), int(t.subjects[0]))
            if run:
                out.append(alert(setting, use, f"{run} single-customer lookups walking"
                                 f" consecutive ids in {t.table}", group=t.table,
                                 table=t.table, lookups=run, window=setting["window"],
                                 explanation="point lookups over a range of ids look like"
                                 " enumeration"))
        return out


class Walk:
    """Recent point lookups of one principal x purpose x table (the last 4 x `lookups`).

    Only a lookup next to a recent one (within max_gap) can lengthen a run, so the
    sort is skipped for scattered lookups; after firing, the walk stays quiet for a
    window so an ongoing enumeration raises one alert per window, not one per lookup.
    """

    def __init__(self, setting: Setting) -> None:
        self.lookups, self.window = setting["lookups"], setting["window"]
        self.gap = setting["max_gap"]
        self._near = tuple(d for d in range(-self.gap, self.gap + 1) if d)
        self.seen: deque[tuple[float, int]] = deque()
        self.ids: dict[int, int] = {}
        self.quiet_until = 0.0

    def add(self, now: float, subject: int) -> int:
        """Add a lookup; return the run length when it reaches `lookups`, else 0."""
        self.seen.append((now, subject))
        self.ids[subject] = self.ids.get(subject, 0) + 1
        while now - self.seen[0][0] > self.window or len(self.seen) > 4 * self.lookups:
            _, old = self.seen.popleft()
            self.ids[old] -= 1
            if not self.ids[old]:
                del self.ids[old]
        if now < self.quiet_until or len(self.ids) < self.lookups:
            return 0
        ids = self.ids
        for d in self._near:
            if subject + d in ids:
                break
        else:
            return 0
        run = self.longest_run()
        if run < self.lookups:
            return 0
        self.quiet_until = now + self.window
        return run

    def longest_run(self) -> int:
        ids = sorted(self.ids)
        best = run = 1
        for a, b in zip(ids, ids[1:], strict=False):
            run = run + 1 if b - a <= self.gap else 1
            best = max(best, run)
        return best
