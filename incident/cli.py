"""`incident` command line: the runbook for personal-information incidents.

Works from the state database alone, so it keeps working while the gateway is down.
Tables on a terminal, `--json` for scripts; errors end with one line on stderr and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys

import asyncpg

from gateway.config import ConfigError
from incident.commands.runtime import CommandError, runtime
from incident.delivery import DeliveryError
from incident.loader import PlaybookError
from incident.settings import SettingsError
from incident.store import IncidentError

# Modules providing COMMANDS = ((name, help, configure, run), ...).
GROUPS = ("incident.commands.records", "incident.commands.lifecycle",
          "incident.commands.response", "incident.commands.drill")

# Failures that are the user's or the environment's, reported as their own message.
_EXPECTED = (CommandError, ConfigError, SettingsError, IncidentError, PlaybookError,
             DeliveryError, ValueError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="incident", description=__doc__.splitlines()[0])
    _common(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    for module_name in GROUPS:
        for name, help_text, configure, run in importlib.import_module(module_name).COMMANDS:
            command = sub.add_parser(name, help=help_text, description=help_text)
            _common(command, suppress=True)
            configure(command)
            command.set_defaults(handler=run)
    return parser


def _common(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    # Accepted before or after the sub-command; the sub-parser must not reset them.
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--config", default=default,
                        help="gateway.yaml (default ./gateway.yaml, then environment)")
    parser.add_argument("--settings", default=default,
                        help="incident settings (default incident.yaml beside the config)")
    parser.add_argument("--actor", default=default, help="who acts (default: login name)")
    parser.add_argument("--timeout", type=float,
                        default=argparse.SUPPRESS if suppress else 5.0,
                        help="seconds to reach the state database")
    parser.add_argument("--json", action="store_true",
                        default=argparse.SUPPRESS if suppress else False,
                        help="machine-readable output")


async def _dispatch(args: argparse.Namespace) -> int:
    async with runtime(args) as rt:
        return int(await args.handler(rt, args) or 0)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(_dispatch(args))
    except _EXPECTED as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"incident: {message}", file=sys.stderr)
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: nothing left to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except asyncpg.PostgresError as exc:
        # Driver messages may quote data: the SQLSTATE and class name only.
        print(f"incident: database error {exc.sqlstate} ({type(exc).__name__})", file=sys.stderr)
    except (OSError, TimeoutError) as exc:
        print(f"incident: {type(exc).__name__}: {exc.strerror or 'I/O failure'}"
              if isinstance(exc, OSError) else "incident: timed out", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the contract is one line, never a traceback
        print(f"incident: internal error ({type(exc).__name__})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
