"""Who was affected: the exact customers, information kinds and times, from the exposure ledger."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

# Exposure rows of the incident's scope; aggregates reveal no single customer's values.
_SCOPE = """
FROM privacy_gateway.exposure
WHERE ($1::text IS NULL OR principal = $1) AND ($2::text IS NULL OR purpose = $2)
  AND ts >= $3 AND ts <= $4
"""

_TOTALS = f"""
SELECT count(*) FILTER (WHERE NOT aggregate) AS statements,
       count(*) FILTER (WHERE aggregate) AS aggregate_statements,
       coalesce(sum(cardinality(subjects)) FILTER (WHERE NOT aggregate), 0) AS records,
       min(ts) FILTER (WHERE NOT aggregate) AS first_exposure,
       max(ts) FILTER (WHERE NOT aggregate) AS last_exposure
{_SCOPE}
"""

_SUBJECTS = f"""
SELECT s.subject, bool_or(cardinality(e.clear_classes) > 0) AS clear
FROM (SELECT subjects, clear_classes {_SCOPE} AND NOT aggregate) e,
     unnest(e.subjects) AS s(subject)
WHERE NOT (s.subject = ANY($5::text[]))
GROUP BY s.subject
"""

# Per customer: the classes of their own rows, in clear and masked.
_SUBJECT_CLASSES = f"""
SELECT s.subject,
       coalesce(array_agg(DISTINCT c.name) FILTER (WHERE c.clear), '{{}}') AS clear_classes,
       coalesce(array_agg(DISTINCT c.name) FILTER (WHERE NOT c.clear), '{{}}') AS masked
FROM (SELECT subjects, clear_classes, masked_classes {_SCOPE} AND NOT aggregate) e
     CROSS JOIN LATERAL unnest(e.subjects) AS s(subject)
     LEFT JOIN LATERAL (SELECT unnest(e.clear_classes), true
                        UNION ALL SELECT unnest(e.masked_classes), false) AS c(name, clear)
       ON true
WHERE NOT (s.subject = ANY($5::text[]))
GROUP BY s.subject
ORDER BY s.subject
"""
CSV_COLUMNS = ("subject", "clear", "clear_classes", "masked_classes")

_CLASSES = f"""
SELECT DISTINCT c.name, c.clear
FROM (SELECT clear_classes, masked_classes {_SCOPE} AND NOT aggregate) e,
     LATERAL (SELECT unnest(e.clear_classes), true
              UNION ALL SELECT unnest(e.masked_classes), false) AS c(name, clear)
"""

# Rows of classified tables that left in statements whose rows could not be attributed to
# customers (binary COPY, DISTINCT, set operations, several statements in one string, ...): the
# ledger has their row counts but no subjects, and their audit records count no subjects.
_UNATTRIBUTED = f"""
SELECT count(DISTINCT (e.replica, e.audit_seq)) AS statements,
       coalesce(sum(e.rows), 0)::bigint AS rows,
       coalesce(array_agg(DISTINCT e.table_name), '{{}}') AS tables
FROM (SELECT replica, audit_seq, rows, table_name {_SCOPE}
        AND NOT aggregate AND rows > 0 AND cardinality(subjects) = 0) e
JOIN privacy_gateway.audit_log a ON a.replica = e.replica AND a.seq = e.audit_seq
WHERE coalesce(a.subjects, 0) = 0
"""

_CANARIES = f"""
SELECT count(DISTINCT s.subject)
FROM (SELECT subjects {_SCOPE}) e, unnest(e.subjects) AS s(subject)
WHERE s.subject = ANY($5::text[])
"""


@dataclass(frozen=True)
class Scope:
    """Whose exposure, and when: principal and purpose (None = any), time window."""

    principal: str | None
    purpose: str | None
    since: datetime
    until: datetime

    def args(self) -> tuple[Any, ...]:
        return (self.principal, self.purpose, self.since, self.until)


@dataclass
class Assessment:
    """Counts, kinds and times; never the subject ids themselves (those go to the CSV)."""

    subjects: int = 0
    subjects_clear: int = 0
    records: int = 0
    statements: int = 0
    aggregate_statements: int = 0
    canary_subjects: int = 0
    clear_classes: list[str] = field(default_factory=list)
    masked_classes: list[str] = field(default_factory=list)
    sensitive_classes: list[str] = field(default_factory=list)
    first_exposure: datetime | None = None
    last_exposure: datetime | None = None
    # rows that left without their customers known: the affected may be more than subjects
    unattributed_rows: int = 0
    unattributed_statements: int = 0
    unattributed_tables: list[str] = field(default_factory=list)

    @property
    def sensitive(self) -> bool:
        return bool(self.sensitive_classes)

    @property
    def at_most(self) -> int:
        """Affected customers at the most: each unattributed row may be one more."""
        return self.subjects + self.unattributed_rows

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sensitive"] = self.sensitive
        data["at_most"] = self.at_most
        return data


async def assess(conn: asyncpg.Connection, scope: Scope, canaries: set[str],
                 sensitive: set[str]) -> Assessment:
    """Exact counts for the scope; canary (honeytoken) customers are counted apart."""
    canary_list = sorted(canaries)
    totals = await conn.fetchrow(_TOTALS, *scope.args())
    counts = await conn.fetchrow(f"SELECT count(*) AS n, count(*) FILTER (WHERE clear) AS c"
                                 f" FROM ({_SUBJECTS}) x", *scope.args(), canary_list)
    classes = await conn.fetch(_CLASSES, *scope.args())
    clear = sorted({r["name"] for r in classes if r["clear"]})
    masked = sorted({r["name"] for r in classes if not r["clear"]} - set(clear))
    unattributed = await conn.fetchrow(_UNATTRIBUTED, *scope.args())
    return Assessment(
        subjects=counts["n"], subjects_clear=counts["c"], records=totals["records"],
        statements=totals["statements"], aggregate_statements=totals["aggregate_statements"],
        canary_subjects=await conn.fetchval(_CANARIES, *scope.args(), canary_list),
        clear_classes=clear, masked_classes=masked,
        sensitive_classes=sorted(set(clear + masked) & sensitive),
        first_exposure=totals["first_exposure"], last_exposure=totals["last_exposure"],
        unattributed_rows=unattributed["rows"],
        unattributed_statements=unattributed["statements"],
        unattributed_tables=sorted(unattributed["tables"]))


async def export_csv(conn: asyncpg.Connection, scope: Scope, canaries: set[str],
                     path: Path) -> int:
    """Write one row per affected customer: subject id, whether anything was seen in clear,
    and that customer's own classes in clear and masked (for the notices)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    async with conn.transaction():  # server-side cursor: millions of ids stream, not load
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(CSV_COLUMNS)
            async for row in conn.cursor(_SUBJECT_CLASSES, *scope.args(), sorted(canaries),
                                         prefetch=10000):
                masked = sorted(set(row["masked"]) - set(row["clear_classes"]))
                writer.writerow([row["subject"], str(bool(row["clear_classes"])).lower(),
                                 ";".join(sorted(row["clear_classes"])), ";".join(masked)])
                count += 1
    return count


def read_csv(path: Path) -> list[str]:
    """Subject ids from a CSV written by export_csv."""
    return list(read_rows(path))


def read_rows(path: Path) -> dict[str, dict[str, list[str]]]:
    """subject -> {"clear": [classes], "masked": [classes]} from a CSV of export_csv."""
    with path.open(encoding="utf-8", newline="") as src:
        return {row["subject"]: {"clear": _split(row.get("clear_classes")),
                                 "masked": _split(row.get("masked_classes"))}
                for row in csv.DictReader(src)}


def _split(text: str | None) -> list[str]:
    return [c for c in (text or "").split(";") if c]


def scope_for(incident: Any, lookback_minutes: float, now: datetime) -> Scope:
    """The incident's scope: facts['scope'] when set, else its principal and purpose from
    `lookback_minutes` before discovery until now."""
    given = (incident.facts or {}).get("scope") or {}
    since = given.get("since")
    until = given.get("until")
    return Scope(
        principal=given.get("principal", incident.principal),
        purpose=given.get("purpose", incident.purpose),
        since=datetime.fromisoformat(since) if since
        else incident.discovered_at - timedelta(minutes=lookback_minutes),
        until=datetime.fromisoformat(until) if until else now)
