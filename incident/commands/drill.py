"""`incident drill`: run a playbook end to end in a sandbox and file the drill record."""

from __future__ import annotations

import argparse

from incident import drill
from incident.commands.output import emit, pairs, table
from incident.commands.runtime import CommandError, Runtime
from incident.drill_sandbox import SandboxError


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--playbook", default="canary-leak")
    p.add_argument("--customers", type=int, default=300, help="sample customers in the sandbox")
    p.add_argument("--rows", type=int, default=40, help="rows the simulated leak reads")
    p.add_argument("--keep", action="store_true", help="keep the sandbox database")
    p.add_argument("--notify-staff", action="store_true",
                   help="really send the security and internal messages")


async def run(rt: Runtime, args: argparse.Namespace) -> int:
    try:
        result = await drill.run(rt.conn, rt.settings, rt.playbook(args.playbook), rt.actor,
                                 customers=args.customers, rows=args.rows, keep=args.keep,
                                 notify_staff=args.notify_staff)
    except SandboxError as exc:
        raise CommandError(f"drill: {exc}") from None
    except TimeoutError:
        raise CommandError("drill: the playbook did not finish in time") from None
    head = pairs([("drill record", result.incident_id), ("playbook", result.playbook),
                  ("result", result.state), ("affected (sandbox)", result.subjects),
                  ("first leaked row -> blocked", f"{result.leak_to_containment_ms} ms"),
                  ("files", result.folder)])
    emit(result, rt.json, f"{head}\n\n{table(result.steps, ['step_id', 'type', 'status', 'ms'])}")
    return 0 if result.ok else 1


COMMANDS = (("drill", "run a playbook end to end in a sandbox, timed, and file the drill record",
             configure, run),)
