"""`privacy-gateway` command line: one sub-command per module, listed in COMMANDS.

Each command module provides `configure(parser)` and `run(args) -> int`, and imports its
heavy dependencies inside `run` so that `--help` stays fast. Errors end with one line on
stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (command, module, help). Modules are imported when the parser is built.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("serve", "gateway.commands.serve", "run the gateway (production entry point)"),
    ("demo", "gateway.commands.demo", "start a demo gateway with a sample customer database"),
    ("rules", "gateway.policy.commands", "check or explain a purpose rules file"),
    ("discover", "gateway.detect.discover", "sample a database and propose a tables: section"),
    ("audit", "gateway.audit.commands", "verify the audit log"),
    ("subject", "gateway.metering.commands", "report one customer's data use"),
)


class CommandError(Exception):
    """A failure a command reports as one line on stderr (exit status 1 unless given)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="privacy-gateway", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None,
                        help="gateway.yaml (default ./gateway.yaml, then environment)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module_name, help_text in COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # a command whose module is not part of this build
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        module.configure(command)
        command.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except CommandError as exc:
        print(f"privacy-gateway: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
