"""Incident operations the CLI and the intake share: declare, acknowledge, grade, close."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from incident import grading, store
from incident.models import ALERT_SEVERITY, GRADES, SEVERITIES, EventKind, Incident, Status
from incident.settings import Settings

REVIEW_TASK = "review"


async def declare(conn: asyncpg.Connection, settings: Settings, *, title: str,
                  severity: str = "high", category: str | None = None,
                  principal: str | None = None, purpose: str | None = None,
                  actor: str | None = None, drill: bool = False,
                  discovered_at: datetime | None = None,
                  discovered_by: str | None = None) -> Incident:
    """Open an incident by hand (or from the intake); graded 一般 until assessed."""
    if severity not in SEVERITIES:
        severity = ALERT_SEVERITY.get(severity, "")
        if not severity:
            raise store.IncidentError(f"severity must be one of {', '.join(SEVERITIES)}")
    category = category or settings["default_category"]
    if category not in settings["categories"]:
        raise store.IncidentError(f"unknown category {category!r}"
                                  f" (one of {', '.join(settings['categories'])})")
    return await store.create(conn, title=title, severity=severity, grade=GRADES[0],
                              category=category, discovered_by=discovered_by or actor,
                              principal=principal,
                              purpose=purpose, drill=drill, discovered_at=discovered_at)


async def acknowledge(conn: asyncpg.Connection, settings: Settings, incident_id: str,
                      actor: str, aware_at: datetime | None = None,
                      eu_subjects: bool | None = None) -> Incident:
    """Set aware_at (starting the clocks) and the commander; add the deadline tasks."""
    incident = await _open(conn, incident_id)
    fields: dict = {"commander": incident.commander or actor}
    if incident.aware_at is None or aware_at is not None:
        fields["aware_at"] = aware_at or await conn.fetchval("SELECT now()")
    if eu_subjects is not None:
        fields["eu_subjects"] = eu_subjects
    incident = await store.update(conn, incident_id, **fields)
    await store.add_event(conn, incident_id, EventKind.ACK, actor,
                          f"acknowledged; clocks start at {incident.aware_at:%Y-%m-%d %H:%M:%S%z}")
    await sync_deadlines(conn, settings, incident, actor)
    return incident


async def assign(conn: asyncpg.Connection, incident_id: str, role: str, person: str,
                 actor: str) -> Incident:
    """Give a role (commander, scribe, legal, comms ...) to a person."""
    incident = await _open(conn, incident_id)
    if role == "commander":
        incident = await store.update(conn, incident_id, commander=person)
    else:
        incident = await store.update(conn, incident_id, roles={**incident.roles, role: person})
    await store.add_event(conn, incident_id, EventKind.ASSIGN, actor, f"{role}: {person}")
    return incident


async def set_grade(conn: asyncpg.Connection, settings: Settings, incident_id: str,
                    grade: str | None, actor: str | None, reason: str | None = None,
                    computed: str | None = None) -> Incident:
    """Override the grade (with a reason), clear the override (grade None), or store a newly
    computed grade; deadline tasks follow the effective grade."""
    incident = await store.get(conn, incident_id)
    if grade is not None and grade not in GRADES:
        raise store.IncidentError(f"unknown grade {grade!r} (one of {', '.join(GRADES)})")
    if grade is not None and not reason:
        raise store.IncidentError("a grade override needs a reason")
    before = incident.effective_grade
    fields = {"grade": computed} if computed else {"grade_override": grade, "grade_reason": reason}
    incident = await store.update(conn, incident_id, **fields)
    if incident.effective_grade != before or not computed:
        what = "computed" if computed else ("overridden" if grade else "override cleared")
        await store.add_event(conn, incident_id, EventKind.GRADE, actor,
                              f"grade {what}: {before} -> {incident.effective_grade}",
                              {"reason": reason, "computed": incident.grade})
    await sync_deadlines(conn, settings, incident, actor)
    return incident


async def sync_deadlines(conn: asyncpg.Connection, settings: Settings, incident: Incident,
                         actor: str | None) -> None:
    """One task per legal deadline that applies (added once; due from aware_at)."""
    if incident.aware_at is None:
        return
    ciio = bool(settings["organisation"].get("ciio"))
    for deadline in grading.deadlines(incident, settings["clocks"], ciio):
        await store.add_task(conn, incident.id, f"notify {deadline.to} ({deadline.basis})",
                             kind=f"deadline:{deadline.name}", due_at=deadline.due_at,
                             actor=actor)


async def close(conn: asyncpg.Connection, incident_id: str, resolution: str,
                actor: str) -> Incident:
    """Close with a resolution; a post-incident review task must exist (GB/T 35273 §10)."""
    incident = await _open(conn, incident_id)
    if not resolution.strip():
        raise store.IncidentError("closing needs a resolution")
    if not any(t.kind == REVIEW_TASK for t in await store.tasks(conn, incident_id)):
        raise store.IncidentError(f"{incident_id} has no post-incident review task; add one"
                                  f" with: incident task add {incident_id} --review TITLE")
    await store.update(conn, incident_id, resolution=resolution)
    return await store.set_status(conn, incident.id, Status.CLOSED, actor, resolution)


async def merge(conn: asyncpg.Connection, source_id: str, target_id: str, actor: str) -> Incident:
    """Fold `source` into `target`: its alerts move over and `source` closes as merged."""
    if source_id == target_id:
        raise store.IncidentError("cannot merge an incident into itself")
    await _open(conn, source_id)
    await _open(conn, target_id)
    async with conn.transaction():
        moved = await conn.fetchval(
            "WITH m AS (UPDATE privacy_gateway.incident_signals SET incident_id = $2"
            " WHERE incident_id = $1 RETURNING 1) SELECT count(*) FROM m", source_id, target_id)
        await store.update(conn, source_id, merged_into=target_id,
                           resolution=f"merged into {target_id}")
        await store.add_event(conn, target_id, EventKind.MERGE, actor,
                              f"{source_id} merged in ({moved} alert(s))")
        await store.add_event(conn, source_id, EventKind.MERGE, actor, f"merged into {target_id}")
        await store.set_status(conn, source_id, Status.CLOSED, actor, f"merged into {target_id}")
    return await store.get(conn, target_id)


async def _open(conn: asyncpg.Connection, incident_id: str) -> Incident:
    incident = await store.get(conn, incident_id)
    if incident.status == Status.CLOSED:
        raise store.IncidentError(f"{incident_id} is closed")
    return incident
