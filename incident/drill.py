"""Drills (GB/T 35273 §10, at least yearly): a playbook end to end in a scratch database.

The sandbox is a database the drill creates and drops: the sample customers, the
gateway's state schema, and the gateway's own accounting (audit writer, metering with
its canary detector, alert dispatcher). A leak is replayed through that accounting as
the session reports it, a replica listens for blocks, and the intake runs the playbook.
Timings go to a drill incident filed in the real state database.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from gateway import blocks
from incident import engine, intake, service, store
from incident import settings as incident_settings
from incident.drill_sandbox import Sandbox, leak_reads
from incident.loader import Playbook
from incident.models import EventKind, Status
from incident.settings import Settings

ACTOR = "drill"


@dataclass
class DrillResult:
    """What the drill measured; `incident_id` is the record filed in the real state database."""

    playbook: str
    started_at: datetime
    ok: bool = False
    incident_id: str | None = None
    leak_to_containment_ms: float | None = None
    state: str = "not started"
    subjects: int | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    folder: str | None = None
    sandbox: str | None = None


async def run(conn: asyncpg.Connection, settings: Settings, book: Playbook, actor: str,
              customers: int = 300, rows: int = 40, keep: bool = False,
              notify_staff: bool = False, timeout: float = 60.0) -> DrillResult:
    """Run `book` in a fresh sandbox, file the drill record, and return the measurements."""
    result = DrillResult(playbook=book.name, started_at=await conn.fetchval("SELECT now()"))
    sandbox = await Sandbox.create(conn, settings, customers)
    result.sandbox = sandbox.name
    try:
        local = _sandbox_settings(settings, sandbox.url, notify_staff, result)
        await asyncio.wait_for(_exercise(sandbox, local, book, rows, result), timeout)
    finally:
        await sandbox.drop(conn, keep)
    await _file(conn, settings, result, actor)
    return result


async def _exercise(sandbox: Sandbox, settings: Settings, book: Playbook, rows: int,
                    result: DrillResult) -> None:
    listener = await sandbox.connect()
    work = await sandbox.connect()
    replica = await blocks.load_blocks(listener)
    loop = asyncio.get_running_loop()
    blocked_at: dict[str, float] = {}

    def on_block(event: dict[str, Any]) -> None:
        replica.apply(event)
        if event.get("action") == "block":
            blocked_at.setdefault(event["principal"], loop.time())

    await blocks.listen(listener, on_block)
    try:
        principal, first_row_at = await leak_reads(sandbox, settings, rows)
        incident_id = await _intake_until_open(work, settings, book)
        while principal not in blocked_at:
            await asyncio.sleep(0.005)
        result.leak_to_containment_ms = round((blocked_at[principal] - first_row_at) * 1000, 1)
        result.state = await _finish(work, settings, incident_id, book)
        result.steps = await _timings(work, incident_id)
        facts = (await store.get(work, incident_id)).facts
        result.subjects = (facts.get("assessment") or {}).get("subjects")
        result.ok = result.state == "finished" and replica.is_blocked(principal)
    finally:
        await listener.close()
        await work.close()


async def _intake_until_open(conn: asyncpg.Connection, settings: Settings,
                             book: Playbook) -> str:
    """Poll like `incident intake --watch` until the leak's alert opens an incident."""
    while True:
        found = await intake.ingest(conn, settings, {book.name: book}, drill=True)
        if found.opened:
            return found.opened[0]
        await asyncio.sleep(0.02)


async def _finish(conn: asyncpg.Connection, settings: Settings, incident_id: str,
                  book: Playbook) -> str:
    """Resume to the end, approving each waiting step as the drill's commander."""
    while True:
        run = await engine.resume(conn, settings, incident_id, book, ACTOR)
        if run.state != "waiting":
            return run.state
        await engine.approve(conn, incident_id, run.step_id, ACTOR)


async def _timings(conn: asyncpg.Connection, incident_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT step_id, type, status, round((extract(epoch FROM finished_at - started_at)"
        " * 1000)::numeric, 1)::float8 AS ms, error FROM privacy_gateway.incident_steps"
        " WHERE incident_id = $1 ORDER BY position", incident_id)
    return [dict(r) for r in rows]


def _sandbox_settings(settings: Settings, url: str, notify_staff: bool,
                      result: DrillResult) -> Settings:
    local = copy.deepcopy(settings)
    local.state_dsn = local.upstream_dsn = url
    local.state_password = local.upstream_password = settings.state_password
    stamp = f"{result.started_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:4]}"
    local.values["workdir"] = str(Path(settings.workdir) / "drills" / stamp)
    # The sandbox holds the sample customers, whatever the deployment's own query reads.
    local.values["customers"] = incident_settings.defaults()["customers"]
    if not notify_staff:  # a drill does not page anyone unless asked to
        local.values["security"], local.values["internal"], local.alert_sinks = [], [], []
    result.folder = local.values["workdir"]
    return local


async def _file(conn: asyncpg.Connection, settings: Settings, result: DrillResult,
                actor: str) -> None:
    """The drill record: an incident marked drill, its timeline, and a drills row."""
    inc = await service.declare(conn, settings, title=f"演练：{result.playbook}",
                                severity="low", actor=actor, drill=True)
    result.incident_id = inc.id
    summary = {k: v for k, v in result.__dict__.items() if k not in ("incident_id",)}
    await store.merge_facts(conn, inc.id, {"drill": summary})
    await store.add_event(conn, inc.id, EventKind.DRILL, actor,
                          f"drill of {result.playbook}: {result.state}, first leaked row to"
                          f" containment {result.leak_to_containment_ms} ms", summary)
    await conn.execute(
        "INSERT INTO privacy_gateway.incident_drills (incident_id, playbook, started_at,"
        " finished_at, ok, leak_to_containment_ms, timings) VALUES ($1,$2,$3,now(),$4,$5,$6)",
        inc.id, result.playbook, result.started_at, result.ok, result.leak_to_containment_ms,
        _json({"steps": result.steps, "subjects": result.subjects}))
    await store.add_task(conn, inc.id, "演练复盘", kind=service.REVIEW_TASK, actor=actor)
    await store.update(conn, inc.id, resolution="drill completed" if result.ok else "drill failed")
    await store.set_status(conn, inc.id, Status.CLOSED, actor, "drill record filed")


def _json(value: Any) -> str:
    return json.dumps(value, default=str)
