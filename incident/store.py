"""Reading and writing incidents, timeline events and tasks in the state database."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from incident.models import TRANSITIONS, EventKind, Incident, Status, Task, TimelineEvent


class IncidentError(Exception):
    """An unknown id or a move the incident's state does not allow."""


_COLUMNS = ", ".join(f.name for f in Incident.__dataclass_fields__.values())


async def create(conn: asyncpg.Connection, *, title: str, severity: str, grade: str,
                 category: str, discovered_by: str | None = None,
                 principal: str | None = None, purpose: str | None = None,
                 drill: bool = False, facts: dict[str, Any] | None = None,
                 discovered_at: datetime | None = None) -> Incident:
    """A new active incident, with its `created` timeline event."""
    async with conn.transaction():
        n = await conn.fetchval("SELECT nextval('privacy_gateway.incident_seq')")
        year = await conn.fetchval("SELECT extract(year FROM now())::int")
        incident_id = f"INC-{year}-{n:04d}"
        await conn.execute(
            "INSERT INTO privacy_gateway.incidents (id, title, severity, grade, category,"
            " discovered_by, principal, purpose, drill, facts, discovered_at)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10, coalesce($11, now()))",
            incident_id, title, severity, grade, category, discovered_by, principal, purpose,
            drill, json.dumps(facts or {}), discovered_at)
        await add_event(conn, incident_id, EventKind.CREATED, discovered_by,
                        f"incident declared: {title}", {"grade": grade, "severity": severity})
    return await get(conn, incident_id)


async def get(conn: asyncpg.Connection, incident_id: str) -> Incident:
    """The incident with this id; IncidentError when there is none."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM privacy_gateway.incidents WHERE id = $1", incident_id)
    if row is None:
        raise IncidentError(f"no incident {incident_id!r}")
    return _incident(row)


async def list_incidents(conn: asyncpg.Connection, status: str | None = None,
                         include_drills: bool = True) -> list[Incident]:
    """Incidents newest first, optionally of one status."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM privacy_gateway.incidents"
        " WHERE ($1::text IS NULL OR status = $1) AND ($2 OR NOT drill)"
        " ORDER BY discovered_at DESC, id DESC", status, include_drills)
    return [_incident(r) for r in rows]


async def update(conn: asyncpg.Connection, incident_id: str, **fields: Any) -> Incident:
    """Set plain fields (no status moves: use set_status)."""
    names = [n for n in fields if n in Incident.__dataclass_fields__ and n != "status"]
    if len(names) != len(fields):
        raise IncidentError(f"cannot set {sorted(set(fields) - set(names))}")
    values = [json.dumps(fields[n]) if n in ("facts", "roles") else fields[n] for n in names]
    sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
    done = await conn.execute(f"UPDATE privacy_gateway.incidents SET {sets} WHERE id = $1",
                              incident_id, *values)
    if done.endswith(" 0"):
        raise IncidentError(f"no incident {incident_id!r}")
    return await get(conn, incident_id)


async def merge_facts(conn: asyncpg.Connection, incident_id: str, facts: dict[str, Any]) -> None:
    """Add keys to the incident's facts (assessment results, report inputs)."""
    await conn.execute("UPDATE privacy_gateway.incidents SET facts = facts || $2::jsonb"
                       " WHERE id = $1", incident_id, json.dumps(facts, default=str))


async def set_status(conn: asyncpg.Connection, incident_id: str, status: Status,
                     actor: str | None, note: str = "") -> Incident:
    """Move the incident to `status` when TRANSITIONS allow it, on the timeline."""
    incident = await get(conn, incident_id)
    current = Status(incident.status)
    if status == current:
        return incident
    if status not in TRANSITIONS[current]:
        raise IncidentError(f"{incident_id} is {current}; cannot move to {status}")
    closed = "now()" if status == Status.CLOSED else "NULL"
    async with conn.transaction():
        await conn.execute(f"UPDATE privacy_gateway.incidents SET status = $2,"
                           f" closed_at = {closed} WHERE id = $1", incident_id, status.value)
        await add_event(conn, incident_id, EventKind.STATUS, actor,
                        f"status {current} -> {status}" + (f": {note}" if note else ""))
    return await get(conn, incident_id)


async def add_event(conn: asyncpg.Connection, incident_id: str, kind: EventKind | str,
                    actor: str | None, summary: str, details: dict[str, Any] | None = None) -> None:
    """Append one typed event to the timeline."""
    await conn.execute(
        "INSERT INTO privacy_gateway.incident_timeline (incident_id, kind, actor, summary, details)"
        " VALUES ($1, $2, $3, $4, $5)", incident_id, str(kind), actor, summary,
        json.dumps(details or {}, default=str))


async def timeline(conn: asyncpg.Connection, incident_id: str) -> list[TimelineEvent]:
    await get(conn, incident_id)
    rows = await conn.fetch("SELECT ts, kind, actor, summary, details FROM"
                            " privacy_gateway.incident_timeline WHERE incident_id = $1"
                            " ORDER BY id", incident_id)
    return [TimelineEvent(r["ts"], r["kind"], r["actor"], r["summary"], json.loads(r["details"]))
            for r in rows]


async def add_task(conn: asyncpg.Connection, incident_id: str, title: str, *,
                   kind: str = "general", owner: str | None = None,
                   due_at: datetime | None = None, actor: str | None = None) -> Task:
    """A task; adding the same kind and title twice returns the existing one."""
    await get(conn, incident_id)
    row = await conn.fetchrow(
        "INSERT INTO privacy_gateway.incident_tasks (incident_id, title, kind, owner, due_at)"
        " VALUES ($1,$2,$3,$4,$5) ON CONFLICT (incident_id, kind, title) DO NOTHING RETURNING id",
        incident_id, title, kind, owner, due_at)
    if row is not None:
        await add_event(conn, incident_id, EventKind.TASK, actor, f"task added: {title}",
                        {"task": row["id"], "kind": kind, "due_at": due_at})
    return next(t for t in await tasks(conn, incident_id) if t.kind == kind and t.title == title)


async def tasks(conn: asyncpg.Connection, incident_id: str) -> list[Task]:
    rows = await conn.fetch("SELECT id, incident_id, title, kind, owner, due_at, done_at FROM"
                            " privacy_gateway.incident_tasks WHERE incident_id = $1 ORDER BY id",
                            incident_id)
    return [Task(**dict(r)) for r in rows]


async def finish_task(conn: asyncpg.Connection, incident_id: str, task_id: int,
                      actor: str | None) -> Task:
    row = await conn.fetchrow("UPDATE privacy_gateway.incident_tasks SET done_at ="
                              " coalesce(done_at, now()) WHERE id = $1 AND incident_id = $2"
                              " RETURNING title", task_id, incident_id)
    if row is None:
        raise IncidentError(f"{incident_id} has no task {task_id}")
    await add_event(conn, incident_id, EventKind.TASK, actor, f"task done: {row['title']}",
                    {"task": task_id})
    return next(t for t in await tasks(conn, incident_id) if t.id == task_id)


async def linked_alerts(conn: asyncpg.Connection, incident_id: str) -> list[int]:
    rows = await conn.fetch("SELECT alert_id FROM privacy_gateway.incident_signals"
                            " WHERE incident_id = $1 ORDER BY alert_id", incident_id)
    return [r["alert_id"] for r in rows]


def _incident(row: asyncpg.Record) -> Incident:
    data = dict(row)
    data["roles"] = json.loads(data["roles"]) if isinstance(data["roles"], str) else data["roles"]
    data["facts"] = json.loads(data["facts"]) if isinstance(data["facts"], str) else data["facts"]
    return Incident(**data)
