"""Reading commands: list, show, timeline, affected, report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from incident import affected, engine, grading, notifications, store
from incident.actions.base import Context
from incident.actions.notify_regulator import write as write_report
from incident.commands.output import emit, pairs, table, warn
from incident.commands.runtime import CommandError, Runtime
from incident.loader import Step
from incident.report import markdown, regulator


def configure_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", choices=("active", "stable", "closed"))
    p.add_argument("--no-drills", action="store_true", help="leave drill incidents out")


async def run_list(rt: Runtime, args: argparse.Namespace) -> int:
    items = await store.list_incidents(rt.conn, args.status, not args.no_drills)
    rows = [{"id": i.id, "status": i.status, "grade": i.effective_grade, "severity": i.severity,
             "discovered": i.discovered_at, "drill": "yes" if i.drill else "",
             "title": i.title} for i in items]
    emit(rows, rt.json, table(rows, ["id", "status", "grade", "severity", "discovered", "drill",
                                     "title"]))
    return 0


def configure_show(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")


async def run_show(rt: Runtime, args: argparse.Namespace) -> int:
    inc = await store.get(rt.conn, args.id)
    org = rt.settings["organisation"]
    deadlines = grading.deadlines(inc, rt.settings["clocks"], bool(org.get("ciio")))
    data = {"incident": inc, "deadlines": deadlines,
            "steps": await engine.steps(rt.conn, args.id),
            "tasks": await store.tasks(rt.conn, args.id),
            "notifications": await notifications.summary(rt.conn, args.id),
            "alerts": await store.linked_alerts(rt.conn, args.id)}
    emit(data, rt.json, _show_text(inc, data))
    return 0


def _show_text(inc: Any, data: dict[str, Any]) -> str:
    result = inc.facts.get("assessment") or {}
    head = pairs([("id", inc.id), ("title", inc.title), ("status", inc.status),
                  ("severity", inc.severity),
                  ("grade", inc.effective_grade + (f" (override: {inc.grade_reason})"
                                                   if inc.grade_override else "")),
                  ("category", inc.category), ("commander", inc.commander),
                  ("roles", [f"{k}: {v}" for k, v in inc.roles.items()]),
                  ("principal", inc.principal), ("purpose", inc.purpose),
                  ("discovered", inc.discovered_at), ("aware", inc.aware_at),
                  ("affected", f"{result.get('subjects', '?')} customers,"
                               f" {result.get('records', '?')} records"),
                  ("playbook", inc.playbook), ("alerts", data["alerts"]),
                  ("resolution", inc.resolution)])
    deadlines = table([{"obligation": d.basis, "to": d.to, "due": d.due_at}
                       for d in data["deadlines"]], ["obligation", "to", "due"])
    steps = table(data["steps"], ["step_id", "type", "status", "finished_at", "error"])
    tasks = table([t.__dict__ for t in data["tasks"]], ["id", "title", "owner", "due_at",
                                                       "done_at"])
    notes = table(data["notifications"], ["kind", "channel", "phase", "status", "n"])
    return (f"{head}\n\nDEADLINES\n{deadlines}\n\nSTEPS\n{steps}\n\nTASKS\n{tasks}"
            f"\n\nNOTIFICATIONS\n{notes}")


def configure_timeline(p: argparse.ArgumentParser) -> None:
    p.add_argument("words", nargs="+", metavar="ID | add ID TEXT",
                   help="an incident id to print its timeline, or: add ID TEXT")
    p.add_argument("--kind", default="note", help="event kind for `add` (default note)")


async def run_timeline(rt: Runtime, args: argparse.Namespace) -> int:
    if args.words[0] == "add":
        if len(args.words) < 3:
            raise CommandError("usage: incident timeline add ID TEXT")
        incident_id, text = args.words[1], " ".join(args.words[2:])
        await store.get(rt.conn, incident_id)
        await store.add_event(rt.conn, incident_id, args.kind, rt.actor, text)
        emit({"added": True}, rt.json, f"{incident_id}: added to the timeline")
        return 0
    events = await store.timeline(rt.conn, args.words[0])
    rows = [e.__dict__ for e in events]
    emit(rows, rt.json, table(rows, ["ts", "kind", "actor", "summary"]))
    return 0


def configure_affected(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("--csv", type=Path, help="also copy the subject ids to this CSV file")


async def run_affected(rt: Runtime, args: argparse.Namespace) -> int:
    """Assess again now (a step on the timeline) and print the counts."""
    now = await rt.conn.fetchval("SELECT now()")
    step = Step(id=f"affected-{now:%Y%m%dT%H%M%S%f}", type="assess.affected")
    result = await engine.run_single(rt.conn, rt.settings, args.id, step, rt.actor)
    if result.state == "failed":
        raise CommandError(f"assessment failed: {await _step_error(rt, args.id, step.id)}")
    inc = await store.get(rt.conn, args.id)
    data = dict(inc.facts.get("assessment") or {}, grade=inc.effective_grade,
                csv=inc.facts.get("affected_csv"))
    if args.csv:
        ids = affected.read_csv(Path(inc.facts["affected_csv"]))
        args.csv.write_text("subject\n" + "".join(f"{i}\n" for i in ids), encoding="utf-8")
        data["csv"] = str(args.csv)
    emit(data, rt.json, pairs(list(data.items())))
    return 0


def configure_report(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("--format", choices=("md", "json"), default="md")
    p.add_argument("--phase", choices=regulator.PHASES, default="initial")
    p.add_argument("--save", action="store_true", help="also save it in the incident folder")


async def run_report(rt: Runtime, args: argparse.Namespace) -> int:
    now = await rt.conn.fetchval("SELECT now()")
    report = regulator.build(await regulator.collect(rt.conn, args.id), rt.settings,
                             args.phase, now)
    if args.save:
        ctx = Context(rt.conn, rt.settings, await store.get(rt.conn, args.id), "report")
        write_report(ctx, report, args.phase)
    if args.format == "json" or rt.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(markdown.render(report), end="")
    gaps = regulator.missing(report)
    if gaps:
        warn(f"incident: report fields to complete: {', '.join(gaps)}")
    return 2 if gaps else 0


async def _step_error(rt: Runtime, incident_id: str, step_id: str) -> str:
    rows = [s for s in await engine.steps(rt.conn, incident_id) if s["step_id"] == step_id]
    return rows[0]["error"] if rows else "unknown"


COMMANDS = (
    ("list", "list incidents", configure_list, run_list),
    ("show", "one incident: fields, deadlines, steps, tasks, notifications", configure_show,
     run_show),
    ("timeline", "print the timeline, or `timeline add ID TEXT`", configure_timeline,
     run_timeline),
    ("affected", "assess the affected customers now from the exposure ledger",
     configure_affected, run_affected),
    ("report", "the authority report (md or json); exit 2 when a field is missing",
     configure_report, run_report),
)
