"""Commands that act: run and approve playbooks, contain, release, notify, intake."""

from __future__ import annotations

import argparse
import asyncio

from incident import engine, intake, notifications, store
from incident.commands.output import emit, table
from incident.commands.runtime import CommandError, Runtime
from incident.engine import RunResult
from incident.loader import Step
from incident.models import EventKind
from incident.report.regulator import PHASES

NOTIFY_TYPES = {"security": "notify.security", "internal": "notify.internal",
                "regulator": "notify.regulator", "customers": "notify.customers"}


def configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("--playbook", help="start this playbook (default: resume the attached one)")


async def run_run(rt: Runtime, args: argparse.Namespace) -> int:
    inc = await store.get(rt.conn, args.id)
    name = args.playbook or inc.playbook
    if not name:
        raise CommandError(f"{args.id} has no playbook; give --playbook NAME")
    result = await engine.start(rt.conn, rt.settings, args.id, rt.playbook(name), rt.actor)
    return _report_run(rt, args.id, result)


def configure_approve(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("step", help="the step id waiting for approval")


async def run_approve(rt: Runtime, args: argparse.Namespace) -> int:
    inc = await store.get(rt.conn, args.id)
    await engine.approve(rt.conn, args.id, args.step, rt.actor)
    if inc.playbook:
        result = await engine.resume(rt.conn, rt.settings, args.id, rt.playbook(inc.playbook),
                                     rt.actor)
    else:
        result = RunResult("finished")
    return _report_run(rt, args.id, result)


def configure_contain(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("--principal", help="block this gateway principal on every replica")
    p.add_argument("--purpose", help="freeze this purpose")
    p.add_argument("--role", help="database role: NOLOGIN and revoke its table privileges")
    p.add_argument("--terminate", metavar="ROLE", help="end the upstream sessions of a role")


async def run_contain(rt: Runtime, args: argparse.Namespace) -> int:
    steps = [Step(f"contain-{kind}-{value}", f"contain.{kind}", {param: value})
             for kind, param, value in (("block_principal", "principal", args.principal),
                                        ("freeze_purpose", "purpose", args.purpose),
                                        ("terminate_upstream", "role", args.terminate),
                                        ("revoke_role", "role", args.role)) if value]
    if not steps:
        raise CommandError("name what to contain: --principal, --purpose, --role or --terminate")
    await store.get(rt.conn, args.id)
    failed = 0
    for step in steps:
        result = await engine.run_single(rt.conn, rt.settings, args.id, step, rt.actor)
        failed += result.state == "failed"
    return await _print_steps(rt, args.id, [s.id for s in steps], failed)


def configure_release(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("--step", help="release only this step (default: every containment)")


async def run_release(rt: Runtime, args: argparse.Namespace) -> int:
    undone = await engine.release(rt.conn, rt.settings, args.id, rt.actor, args.step)
    emit({"released": undone}, rt.json,
         f"{args.id}: released {', '.join(undone)}" if undone else f"{args.id}: nothing to release")
    return 0


def configure_notify(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("target", choices=sorted(NOTIFY_TYPES))
    p.add_argument("--phase", choices=PHASES, default="initial")
    p.add_argument("--send", action="store_true",
                   help="customers: really send (default is a dry run with previews)")
    p.add_argument("--filed", metavar="REFERENCE",
                   help="regulator: record that this phase's report was filed (receipt number)")


async def run_notify(rt: Runtime, args: argparse.Namespace) -> int:
    if args.filed:
        if args.target != "regulator":
            raise CommandError("--filed applies to the regulator report only")
        await _filed(rt, args.id, args.phase, args.filed)
        return 0
    params = {"phase": args.phase}
    suffix = ""
    if args.target == "customers":
        params["dry_run"] = not args.send
        suffix = "-send" if args.send else "-preview"
    step = Step(f"notify-{args.target}-{args.phase}{suffix}", NOTIFY_TYPES[args.target], params)
    await store.get(rt.conn, args.id)
    result = await engine.run_single(rt.conn, rt.settings, args.id, step, rt.actor)
    return await _print_steps(rt, args.id, [step.id], result.state == "failed")


async def _filed(rt: Runtime, incident_id: str, phase: str, reference: str) -> None:
    """The authority has the report: the notification record and the timeline say so."""
    await store.get(rt.conn, incident_id)
    await notifications.record(rt.conn, incident_id, "regulator", "filed", "authority", phase,
                               "sent", reference)
    await store.add_event(rt.conn, incident_id, EventKind.NOTIFICATION, rt.actor,
                          f"regulator report ({phase}) filed, reference {reference}")
    emit({"id": incident_id, "phase": phase, "filed": reference}, rt.json,
         f"{incident_id}: {phase} report filed ({reference})")


def configure_intake(p: argparse.ArgumentParser) -> None:
    p.add_argument("--watch", action="store_true", help="keep going until interrupted")
    p.add_argument("--interval", type=float, default=0.25, help="seconds between polls")


async def run_intake(rt: Runtime, args: argparse.Namespace) -> int:
    playbooks = rt.playbooks()
    while True:
        result = await intake.ingest(rt.conn, rt.settings, playbooks)
        if result.signals or not args.watch:
            emit(result.__dict__, rt.json, f"{result.signals} signal(s); opened:"
                 f" {', '.join(result.opened) or 'none'}"
                 + "".join(f"; {i} {s}" for i, s in result.runs.items()))
        if not args.watch:
            return 0
        await asyncio.sleep(args.interval)


def _report_run(rt: Runtime, incident_id: str, result: RunResult) -> int:
    where = f" at step {result.step_id}" if result.step_id else ""
    emit({"id": incident_id, "state": result.state, "step": result.step_id}, rt.json,
         f"{incident_id}: playbook {result.state}{where}")
    return 1 if result.state == "failed" else 0


async def _print_steps(rt: Runtime, incident_id: str, ids: list[str], failed: int) -> int:
    rows = [s for s in await engine.steps(rt.conn, incident_id) if s["step_id"] in ids]
    emit(rows, rt.json, table(rows, ["step_id", "type", "status", "error"]))
    return 1 if failed else 0


COMMANDS = (
    ("run", "start or resume the incident's playbook", configure_run, run_run),
    ("approve", "approve a waiting step and resume the playbook", configure_approve,
     run_approve),
    ("contain", "block a principal, freeze a purpose, revoke or terminate a role",
     configure_contain, run_contain),
    ("release", "undo the containments exactly", configure_release, run_release),
    ("notify", "notify security, internal, regulator (draft) or customers (dry run)",
     configure_notify, run_notify),
    ("intake", "turn new alerts into signals, cases and incidents", configure_intake,
     run_intake),
)
