"""Signal -> case -> incident: new alerts become signals, grouped into cases, escalated.

A single threshold hit stays a case; a canary hit, a case whose exposure grades at or
above `intake.incident_min_grade`, or `intake.escalate_after` signals open an incident,
and the first matching playbook starts on it at once (containment first).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg

from incident import affected, engine, grading, rulesinfo, service, store
from incident.loader import Playbook, load_dir
from incident.models import ALERT_SEVERITY, EventKind, grade_rank
from incident.settings import Settings

ACTOR = "intake"

_NEW_ALERTS = """
SELECT id, ts, rule, severity, principal, purpose, summary, fingerprint
FROM privacy_gateway.alerts a
WHERE id > coalesce((SELECT max(alert_id) FROM privacy_gateway.incident_signals), 0) - 1000
  AND NOT EXISTS (SELECT 1 FROM privacy_gateway.incident_signals s WHERE s.alert_id = a.id)
  AND NOT coalesce((to_jsonb(a) ->> 'shadow')::boolean, false)
ORDER BY id
"""


@dataclass
class IntakeResult:
    """What one pass did: signals recorded, incidents opened, playbook runs and their state."""

    signals: int = 0
    opened: list[str] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)


async def ingest(conn: asyncpg.Connection, settings: Settings,
                 playbooks: dict[str, Playbook] | None = None,
                 drill: bool = False) -> IntakeResult:
    """Process alerts not yet seen; safe to call from several processes. `drill` marks the
    incidents it opens as drills."""
    playbooks = load_dir(settings.playbooks_dir) if playbooks is None else playbooks
    result = IntakeResult()
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('privacy_gateway.intake'))")
        for alert in await conn.fetch(_NEW_ALERTS):
            opened = await _signal(conn, settings, alert, drill)
            result.signals += 1
            if opened:
                result.opened.append(opened)
    for incident_id in result.opened:  # playbooks run outside the intake lock
        incident = await store.get(conn, incident_id)
        book = choose(playbooks, incident.facts.get("trigger", {}), incident.effective_grade)
        if book is None:
            await store.add_event(conn, incident_id, EventKind.STEP_SKIPPED, ACTOR,
                                  "no playbook matches this incident")
            continue
        run = await engine.start(conn, settings, incident_id, book, ACTOR)
        result.runs[incident_id] = run.state
    return result


def choose(playbooks: dict[str, Playbook], trigger: dict, grade: str) -> Playbook | None:
    """The first playbook (by name) whose triggers match the alert and grade."""
    for name in sorted(playbooks):
        if playbooks[name].matches(trigger.get("rule"), trigger.get("severity"), grade):
            return playbooks[name]
    return None


async def _signal(conn: asyncpg.Connection, settings: Settings, alert: asyncpg.Record,
                  drill: bool) -> str | None:
    """Record one alert; returns the id of an incident it opened, if any."""
    intake = settings["intake"]
    case = await _case(conn, alert, intake["case_window"])
    await conn.execute(
        "INSERT INTO privacy_gateway.incident_signals (alert_id, ts, rule, severity, principal,"
        " purpose, fingerprint, case_id, incident_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        alert["id"], alert["ts"], alert["rule"], alert["severity"], alert["principal"],
        alert["purpose"], alert["fingerprint"], case["id"], case["incident_id"])
    if case["incident_id"]:
        await store.add_event(conn, case["incident_id"], EventKind.SIGNAL, ACTOR,
                              f"alert {alert['id']} ({alert['rule']}, {alert['severity']}) linked")
        return None
    reason, grade = await _escalation(conn, settings, alert, case["id"])
    if reason is None:
        return None
    return await _open_incident(conn, settings, alert, case["id"], reason, grade, drill)


async def _case(conn: asyncpg.Connection, alert: asyncpg.Record,
                window_minutes: float) -> asyncpg.Record:
    case = await conn.fetchrow(
        "SELECT id, incident_id FROM privacy_gateway.incident_cases WHERE status <> 'dismissed'"
        " AND principal IS NOT DISTINCT FROM $1 AND purpose IS NOT DISTINCT FROM $2"
        " AND last_at >= $3::timestamptz - $4::float8 * interval '1 minute'"
        " ORDER BY id DESC LIMIT 1",
        alert["principal"], alert["purpose"], alert["ts"], float(window_minutes))
    if case is not None:
        await conn.execute("UPDATE privacy_gateway.incident_cases SET last_at ="
                           " greatest(last_at, $2) WHERE id = $1", case["id"], alert["ts"])
        return case
    return await conn.fetchrow(
        "INSERT INTO privacy_gateway.incident_cases (principal, purpose, opened_at, last_at)"
        " VALUES ($1, $2, $3, $3) RETURNING id, incident_id",
        alert["principal"], alert["purpose"], alert["ts"])


async def _escalation(conn: asyncpg.Connection, settings: Settings, alert: asyncpg.Record,
                      case_id: int) -> tuple[str | None, str | None]:
    """Why the case becomes an incident (None: it stays a case), and a grade if computed."""
    intake = settings["intake"]
    if any(fnmatch.fnmatchcase(alert["rule"], p) for p in intake["canary_rules"]):
        return "canary hit", None
    signals = await conn.fetchval("SELECT count(*) FROM privacy_gateway.incident_signals"
                                  " WHERE case_id = $1", case_id)
    grade = await _grade(conn, settings, alert)
    if grade_rank(grade) >= grade_rank(intake["incident_min_grade"]):
        return f"exposure graded {grade}", grade
    if signals >= int(intake["escalate_after"]):
        return f"{signals} signals in one case", grade
    return None, None


async def _grade(conn: asyncpg.Connection, settings: Settings, alert: asyncpg.Record) -> str:
    try:
        info = rulesinfo.load(settings.rules_path)
    except rulesinfo.RulesUnavailable:
        info = rulesinfo.RulesInfo(frozenset(), frozenset())  # counts still grade
    scope = affected.Scope(alert["principal"], alert["purpose"],
                           alert["ts"] - timedelta(minutes=settings["intake"]["lookback"]),
                           alert["ts"])
    result = await affected.assess(conn, scope, set(info.canaries), set(info.sensitive))
    return grading.compute_grade(result.at_most, result.sensitive, settings["grading"])


async def _open_incident(conn: asyncpg.Connection, settings: Settings, alert: asyncpg.Record,
                         case_id: int, reason: str, grade: str | None, drill: bool) -> str:
    severity = ALERT_SEVERITY.get(alert["severity"], "high")
    incident = await service.declare(
        conn, settings, title=f"{alert['rule']}: {alert['principal'] or '-'}"
                              f" / {alert['purpose'] or '-'}",
        severity=severity, principal=alert["principal"], purpose=alert["purpose"],
        actor=ACTOR, discovered_at=alert["ts"], drill=drill,
        discovered_by=f"隐私网关告警 {alert['rule']} (alert {alert['id']})")
    trigger = {"rule": alert["rule"], "severity": alert["severity"], "alert": alert["id"]}
    await store.merge_facts(conn, incident.id, {"trigger": trigger, "case": case_id})
    if grade:
        await service.set_grade(conn, settings, incident.id, None, ACTOR, computed=grade)
    await conn.execute("UPDATE privacy_gateway.incident_cases SET status = 'escalated',"
                       " incident_id = $2 WHERE id = $1", case_id, incident.id)
    await conn.execute("UPDATE privacy_gateway.incident_signals SET incident_id = $2"
                       " WHERE case_id = $1", case_id, incident.id)
    await store.add_event(conn, incident.id, EventKind.SIGNAL, ACTOR,
                          f"case {case_id} escalated: {reason}", {"alert": alert["id"]})
    return incident.id
