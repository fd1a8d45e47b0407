"""Commands that move an incident along: declare, ack, assign, grade, set, task, merge, close."""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta

from incident import engine, service, store
from incident.commands.output import emit
from incident.commands.runtime import CommandError, Runtime
from incident.models import GRADES, SEVERITIES

# Report inputs the commander writes (the rest comes from the ledger and the timeline).
FACTS = ("cause", "harm", "police", "support_requested", "delay_reason", "not_notified_reason",
         "remedies")


def configure_declare(p: argparse.ArgumentParser) -> None:
    p.add_argument("--title", required=True)
    p.add_argument("--severity", choices=SEVERITIES, default="high")
    p.add_argument("--category", help="GB/T 20986-2023 code from the settings")
    p.add_argument("--principal", help="the principal involved (containment target)")
    p.add_argument("--purpose")
    p.add_argument("--playbook", help="start this playbook at once")


async def run_declare(rt: Runtime, args: argparse.Namespace) -> int:
    inc = await service.declare(rt.conn, rt.settings, title=args.title, severity=args.severity,
                                category=args.category, principal=args.principal,
                                purpose=args.purpose, actor=rt.actor)
    state = None
    if args.playbook:
        run = await engine.start(rt.conn, rt.settings, inc.id, rt.playbook(args.playbook),
                                 rt.actor)
        state = f"{run.state}" + (f" at {run.step_id}" if run.step_id else "")
    emit({"id": inc.id, "playbook": state}, rt.json,
         inc.id + (f" (playbook {args.playbook}: {state})" if state else ""))
    return 0


def configure_ack(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("--aware-at", type=_time, help="when the company became aware (default now)")
    p.add_argument("--eu", action=argparse.BooleanOptionalAction, default=None,
                   help="EU data subjects are (not) involved: GDPR 72 h clock")


async def run_ack(rt: Runtime, args: argparse.Namespace) -> int:
    inc = await service.acknowledge(rt.conn, rt.settings, args.id, rt.actor, args.aware_at,
                                    args.eu)
    emit({"id": inc.id, "aware_at": inc.aware_at, "commander": inc.commander}, rt.json,
         f"{inc.id}: aware at {inc.aware_at:%Y-%m-%d %H:%M:%S %z}, commander {inc.commander}")
    return 0


def configure_assign(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("role", help="commander, scribe, legal, comms, ...")
    p.add_argument("person")


async def run_assign(rt: Runtime, args: argparse.Namespace) -> int:
    await service.assign(rt.conn, args.id, args.role, args.person, rt.actor)
    emit({"id": args.id, args.role: args.person}, rt.json, f"{args.id}: {args.role} {args.person}")
    return 0


def configure_grade(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("grade", nargs="?", choices=GRADES)
    p.add_argument("--reason", help="why the computed grade is overridden (required)")
    p.add_argument("--clear", action="store_true", help="go back to the computed grade")


async def run_grade(rt: Runtime, args: argparse.Namespace) -> int:
    if bool(args.grade) == args.clear:
        raise CommandError("give a grade with --reason, or --clear")
    inc = await service.set_grade(rt.conn, rt.settings, args.id, args.grade, rt.actor,
                                  args.reason)
    emit({"id": inc.id, "grade": inc.effective_grade}, rt.json,
         f"{inc.id}: grade {inc.effective_grade}")
    return 0


def configure_set(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("field", choices=FACTS)
    p.add_argument("value")


async def run_set(rt: Runtime, args: argparse.Namespace) -> int:
    await store.get(rt.conn, args.id)
    await store.merge_facts(rt.conn, args.id, {args.field: args.value})
    await store.add_event(rt.conn, args.id, "note", rt.actor, f"{args.field} recorded")
    emit({"id": args.id, args.field: args.value}, rt.json, f"{args.id}: {args.field} recorded")
    return 0


def configure_task(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("add", "done"))
    p.add_argument("id")
    p.add_argument("text", help="task title (add) or task number (done)")
    p.add_argument("--owner")
    p.add_argument("--due", type=_time, help="ISO time, or +4h / +2d from now")
    p.add_argument("--review", action="store_true", help="the post-incident review task")


async def run_task(rt: Runtime, args: argparse.Namespace) -> int:
    if args.action == "done":
        if not args.text.isdigit():
            raise CommandError("task done needs the task number")
        task = await store.finish_task(rt.conn, args.id, int(args.text), rt.actor)
    else:
        kind = service.REVIEW_TASK if args.review else "general"
        task = await store.add_task(rt.conn, args.id, args.text, kind=kind, owner=args.owner,
                                    due_at=args.due, actor=rt.actor)
    emit(task, rt.json, f"{args.id}: task {task.id} {'done' if task.done_at else 'open'}"
                        f" — {task.title}")
    return 0


def configure_merge(p: argparse.ArgumentParser) -> None:
    p.add_argument("source")
    p.add_argument("target")


async def run_merge(rt: Runtime, args: argparse.Namespace) -> int:
    await service.merge(rt.conn, args.source, args.target, rt.actor)
    emit({"merged": args.source, "into": args.target}, rt.json,
         f"{args.source} merged into {args.target}")
    return 0


def configure_close(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("--resolution", required=True)


async def run_close(rt: Runtime, args: argparse.Namespace) -> int:
    inc = await service.close(rt.conn, args.id, args.resolution, rt.actor)
    emit({"id": inc.id, "status": inc.status}, rt.json, f"{inc.id}: closed")
    return 0


def configure_status(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("status", choices=("active", "stable"))


async def run_status(rt: Runtime, args: argparse.Namespace) -> int:
    inc = await store.set_status(rt.conn, args.id, store.Status(args.status), rt.actor)
    emit({"id": inc.id, "status": inc.status}, rt.json, f"{inc.id}: {inc.status}")
    return 0


def _time(text: str) -> datetime:
    match = re.fullmatch(r"\+(\d+(?:\.\d+)?)([mhd])", text)
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[match[2]]
        return datetime.now().astimezone() + timedelta(**{unit: float(match[1])})
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time: {text!r} (ISO 8601 or +4h)") from None
    return value if value.tzinfo else value.astimezone()


COMMANDS = (
    ("declare", "open an incident by hand", configure_declare, run_declare),
    ("ack", "acknowledge: set aware_at (starts the legal clocks) and the commander",
     configure_ack, run_ack),
    ("assign", "give a role to a person", configure_assign, run_assign),
    ("grade", "override the computed grade with a reason, or --clear", configure_grade,
     run_grade),
    ("set", "record a report input (cause, harm, police, ...)", configure_set, run_set),
    ("status", "mark the incident stable (contained) or active again", configure_status,
     run_status),
    ("task", "task add|done", configure_task, run_task),
    ("merge", "fold one incident into another", configure_merge, run_merge),
    ("close", "close with a resolution (needs a review task)", configure_close, run_close),
)
