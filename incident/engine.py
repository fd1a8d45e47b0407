"""Runs a playbook on an incident: ordered, resumable steps, each recorded on the timeline.

Step state lives in incident_steps, so a run interrupted anywhere resumes at the first
step not done; done steps are never repeated. A step with `approval: required` waits
until `approve` is called. A failed step stops the run (fail closed) until resumed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from incident import actions, store
from incident.actions.base import ActionError, Context, Outcome, Skip
from incident.loader import Playbook, Step
from incident.models import EventKind, Incident, grade_rank
from incident.settings import Settings

DONE = ("done", "skipped")


@dataclass
class RunResult:
    """Where a run stopped: `finished`, `waiting` (approval) or `failed`, and at which step."""

    state: str
    step_id: str | None = None


async def start(conn: asyncpg.Connection, settings: Settings, incident_id: str,
                playbook: Playbook, actor: str | None = None) -> RunResult:
    """Attach `playbook` to the incident (once) and run it as far as it can go."""
    incident = await store.get(conn, incident_id)
    if incident.playbook not in (None, playbook.name):
        raise store.IncidentError(f"{incident_id} already runs playbook {incident.playbook!r}")
    await _add_steps(conn, incident_id, playbook.name, playbook.steps)
    if incident.playbook is None:
        fields = {"playbook": playbook.name}
        if playbook.category in settings["categories"]:
            fields["category"] = playbook.category
        await store.update(conn, incident_id, **fields)
        await store.add_event(conn, incident_id, EventKind.STEP, actor,
                              f"playbook {playbook.name} started", {"steps": len(playbook.steps)})
    return await resume(conn, settings, incident_id, playbook, actor)


async def resume(conn: asyncpg.Connection, settings: Settings, incident_id: str,
                 playbook: Playbook, actor: str | None = None) -> RunResult:
    """Run the steps not yet done, in order; stop at an approval or a failure."""
    # One runner per incident at a time, across processes.
    await conn.execute("SELECT pg_advisory_lock(hashtext($1))", incident_id)
    try:
        for step in playbook.steps:
            result = await _advance(conn, settings, incident_id, step, actor)
            if result is not None:
                return result
        return RunResult("finished")
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", incident_id)


async def approve(conn: asyncpg.Connection, incident_id: str, step_id: str, actor: str) -> None:
    """Approve a waiting step; the next resume runs it."""
    await store.get(conn, incident_id)
    row = await _step_row(conn, incident_id, step_id)
    if row["status"] in DONE:
        raise store.IncidentError(f"step {step_id} is already {row['status']}")
    await conn.execute("UPDATE privacy_gateway.incident_steps SET approved_by = $3"
                       " WHERE incident_id = $1 AND step_id = $2", incident_id, step_id, actor)
    await store.add_event(conn, incident_id, EventKind.APPROVAL, actor, f"step {step_id} approved")


async def run_single(conn: asyncpg.Connection, settings: Settings, incident_id: str,
                     step: Step, actor: str | None) -> RunResult:
    """Run one ad-hoc step (manual containment), recorded like a playbook step."""
    await _add_steps(conn, incident_id, "manual", (step,), start=1000)
    # A released containment may be applied again under the same step id.
    await conn.execute("UPDATE privacy_gateway.incident_steps SET status = 'pending'"
                       " WHERE incident_id = $1 AND step_id = $2 AND status = 'undone'",
                       incident_id, step.id)
    result = await _advance(conn, settings, incident_id, step, actor)
    return result or RunResult("finished", step.id)


async def release(conn: asyncpg.Connection, settings: Settings, incident_id: str,
                  actor: str | None, step_id: str | None = None) -> list[str]:
    """Undo done reversible steps (latest first); returns the step ids undone."""
    rows = await conn.fetch(
        "SELECT * FROM privacy_gateway.incident_steps WHERE incident_id = $1 AND status = 'done'"
        " AND ($2::text IS NULL OR step_id = $2) ORDER BY finished_at DESC, position DESC",
        incident_id, step_id)
    if step_id and not rows:
        raise store.IncidentError(f"{incident_id} has no done step {step_id!r}")
    undone = []
    for row in rows:
        action = actions.get(row["type"])
        if not action.reversible:
            continue
        ctx = await _context(conn, settings, incident_id, row["step_id"], actor)
        try:
            outcome = await action.undo(ctx, _params(row), json.loads(row["undo"] or "{}"))
        finally:
            await ctx.close()
        await _set(conn, incident_id, row["step_id"], "undone")
        await store.add_event(conn, incident_id, EventKind.RELEASE, actor,
                              f"{row['step_id']} released: {outcome.summary}",
                              {"step": row["step_id"], "before": outcome.before,
                               "after": outcome.after})
        undone.append(row["step_id"])
    return undone


async def steps(conn: asyncpg.Connection, incident_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT step_id, type, status, approved_by, started_at, finished_at,"
                            " error FROM privacy_gateway.incident_steps WHERE incident_id = $1"
                            " ORDER BY position", incident_id)
    return [dict(r) for r in rows]


async def _advance(conn: asyncpg.Connection, settings: Settings, incident_id: str, step: Step,
                   actor: str | None) -> RunResult | None:
    row = await _step_row(conn, incident_id, step.id)
    if row["status"] in DONE or row["status"] == "undone":
        return None
    incident = await store.get(conn, incident_id)
    reason = _skip_reason(step, incident)
    if reason:
        await _skip(conn, incident_id, step, reason, actor)
        return None
    if step.approval and not row["approved_by"]:
        if row["status"] != "waiting":
            await _set(conn, incident_id, step.id, "waiting")
            await store.add_event(conn, incident_id, EventKind.APPROVAL, actor,
                                  f"step {step.id} waits for approval", {"type": step.type})
        return RunResult("waiting", step.id)
    return await _run(conn, settings, incident_id, step, actor)


async def _run(conn: asyncpg.Connection, settings: Settings, incident_id: str, step: Step,
               actor: str | None) -> RunResult | None:
    action = actions.get(step.type)
    ctx = await _context(conn, settings, incident_id, step.id, actor)
    await conn.execute("UPDATE privacy_gateway.incident_steps SET status = 'running',"
                       " started_at = clock_timestamp() WHERE incident_id = $1 AND step_id = $2",
                       incident_id, step.id)
    try:
        outcome: Outcome = await action.run(ctx, step.params)
    except Skip as exc:
        await _skip(conn, incident_id, step, str(exc), actor)
        return None
    except (ActionError, OSError, asyncpg.PostgresError) as exc:
        return await _fail(conn, incident_id, step, exc, actor)
    finally:
        await ctx.close()
    await conn.execute(
        "UPDATE privacy_gateway.incident_steps SET status = 'done', finished_at ="
        " clock_timestamp(), before = $3, after = $4, undo = $5, error = NULL"
        " WHERE incident_id = $1 AND step_id = $2", incident_id, step.id,
        _json(outcome.before), _json(outcome.after), _json(outcome.undo))
    await store.add_event(conn, incident_id, EventKind.STEP, actor,
                          f"{step.id} ({step.type}): {outcome.summary}",
                          {"step": step.id, "before": outcome.before, "after": outcome.after})
    return None


async def _fail(conn: asyncpg.Connection, incident_id: str, step: Step, exc: Exception,
                actor: str | None) -> RunResult:
    # Only the exception's class and our own message: driver messages may quote data.
    message = str(exc) if isinstance(exc, ActionError) else type(exc).__name__
    await conn.execute("UPDATE privacy_gateway.incident_steps SET status = 'failed', error = $3,"
                       " finished_at = clock_timestamp() WHERE incident_id = $1 AND step_id = $2",
                       incident_id, step.id, message)
    await store.add_event(conn, incident_id, EventKind.STEP_FAILED, actor,
                          f"{step.id} ({step.type}) failed: {message}", {"step": step.id})
    return RunResult("failed", step.id)


async def _skip(conn: asyncpg.Connection, incident_id: str, step: Step, reason: str,
                actor: str | None) -> None:
    await _set(conn, incident_id, step.id, "skipped")
    await store.add_event(conn, incident_id, EventKind.STEP_SKIPPED, actor,
                          f"{step.id} ({step.type}) skipped: {reason}", {"step": step.id})


def _skip_reason(step: Step, incident: Incident) -> str | None:
    when = step.when
    if "grade_at_least" in when and grade_rank(incident.effective_grade) < grade_rank(
            when["grade_at_least"]):
        return f"grade {incident.effective_grade} below {when['grade_at_least']}"
    if "eu_subjects" in when and bool(when["eu_subjects"]) != incident.eu_subjects:
        return "EU data subjects " + ("not flagged" if when["eu_subjects"] else "flagged")
    if "drill" in when and bool(when["drill"]) != incident.drill:
        return "drill only" if when["drill"] else "not during a drill"
    return None


async def _add_steps(conn: asyncpg.Connection, incident_id: str, playbook: str,
                     steps_: tuple[Step, ...], start: int = 0) -> None:
    for position, step in enumerate(steps_, start=start):
        await conn.execute(
            "INSERT INTO privacy_gateway.incident_steps (incident_id, step_id, position,"
            " playbook, type, params) VALUES ($1,$2,$3,$4,$5,$6)"
            " ON CONFLICT (incident_id, step_id) DO NOTHING",
            incident_id, step.id, position, playbook, step.type,
            json.dumps(step.params))


async def _step_row(conn: asyncpg.Connection, incident_id: str, step_id: str) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM privacy_gateway.incident_steps"
                              " WHERE incident_id = $1 AND step_id = $2", incident_id, step_id)
    if row is None:
        raise store.IncidentError(f"{incident_id} has no step {step_id!r}")
    return row


async def _set(conn: asyncpg.Connection, incident_id: str, step_id: str, status: str) -> None:
    await conn.execute("UPDATE privacy_gateway.incident_steps SET status = $3"
                       " WHERE incident_id = $1 AND step_id = $2", incident_id, step_id, status)


async def _context(conn: asyncpg.Connection, settings: Settings, incident_id: str,
                   step_id: str, actor: str | None) -> Context:
    return Context(conn=conn, settings=settings, incident=await store.get(conn, incident_id),
                   step_id=step_id, actor=actor)


def _params(row: asyncpg.Record) -> dict[str, Any]:
    # The step's parameters are stored with it so release works without the playbook file.
    return json.loads(row["params"] or "{}")


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)

