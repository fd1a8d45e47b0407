"""`privacy-gateway discover`: sample the upstream database and propose a `tables:` section."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from gateway.detect.render import TableProposal
    from gateway.detect.sample import Table

DEFAULT_SAMPLE = 1000


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--upstream", metavar="DSN",
                        help="database to sample (default: upstream from gateway.yaml)")
    parser.add_argument("--sample", metavar="N", type=int, default=DEFAULT_SAMPLE,
                        help=f"rows sampled per table (default {DEFAULT_SAMPLE})")
    parser.add_argument("--schema", action="append", metavar="NAME",
                        help="sample only this schema (repeatable)")
    parser.add_argument("--rules", metavar="FILE",
                        help="name the proposed classes after this rules file's classes")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from gateway.cli import CommandError
    from gateway.detect.profile import class_names

    if args.sample < 1:
        raise CommandError("--sample: must be at least 1")
    dsn, password = _upstream(args)
    classes = class_names(_rules_classes(args.rules))
    progress = Progress(sys.stderr)
    try:
        text = asyncio.run(discover(dsn, password, args.sample, args.schema, classes, progress))
    except (OSError, TimeoutError, ValueError) as exc:
        raise CommandError(f"upstream unreachable: {_first_line(exc)}") from None
    except Exception as exc:  # asyncpg's errors share no base class with the above
        if type(exc).__module__.startswith("asyncpg"):
            raise CommandError(f"upstream: {_first_line(exc)}") from None
        raise
    finally:
        progress.done()
    sys.stdout.write(text)
    return 0


async def discover(dsn: str, password: str | None, sample: int, schemas: list[str] | None,
                   classes: dict[str, str], progress: Progress | None = None) -> str:
    """Sample every readable table of `dsn` and return the proposal as YAML text."""
    import asyncpg

    from gateway.detect.analyzer import Detector
    from gateway.detect.profile import profile_rows, propose
    from gateway.detect.render import render
    from gateway.detect.sample import connect_args, list_tables, sample_rows

    detector = Detector()
    args = connect_args(dsn)
    if password and "password" not in args:
        args["password"] = password
    conn = await asyncpg.connect(**args, timeout=10, server_settings={
        "application_name": "privacy-gateway discover",
        "default_transaction_read_only": "on", "statement_timeout": "120s"})
    try:
        tables = await list_tables(conn, schemas)
        found: dict[str, tuple[Table, list, int]] = {}
        for number, table in enumerate(tables, 1):
            if progress:
                progress.show(number, len(tables), table.qualified)
            rows = await sample_rows(conn, table, sample)
            proposals = [p for p in map(propose, profile_rows(table.columns, rows, detector))
                         if p is not None]
            found[table.qualified] = (table, proposals, len(rows))
    finally:
        await conn.close()
    proposed = _with_subjects(found)
    clean = [name for name, (_, proposals, _) in found.items() if not proposals]
    return render(proposed, classes, sample, clean)


def _with_subjects(found: dict[str, tuple[Table, list, int]]) -> list[TableProposal]:
    """Subject column per classified table: a key into another classified table, else the PK."""
    from gateway.detect.render import TableProposal

    classified = {name for name, (_, proposals, _) in found.items() if proposals}
    result = []
    for name, (table, proposals, sampled) in found.items():
        if not proposals:
            continue
        referencing = [c for c, target in table.foreign_keys.items()
                       if target in classified and target != name]
        subject = referencing[0] if referencing else table.primary_key
        result.append(TableProposal(name, subject, proposals, sampled))
    return result


class Progress:
    """One status line on a terminal's stderr; silent when stderr is not a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.active = stream.isatty()
        self.width = 0

    def show(self, number: int, total: int, table: str) -> None:
        if self.active:
            line = f"sampling {number}/{total}: {table}"[:100]
            self.stream.write("\r" + line.ljust(self.width))
            self.stream.flush()
            self.width = len(line)

    def done(self) -> None:
        if self.active and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


def _upstream(args: argparse.Namespace) -> tuple[str, str | None]:
    """The DSN (option, else gateway.yaml) and the password from its environment variable."""
    from gateway import config
    from gateway.cli import CommandError

    try:
        settings = config.load(getattr(args, "config", None))
    except config.ConfigError as exc:
        raise CommandError(str(exc)) from None
    dsn = args.upstream or settings.upstream
    if not dsn:
        raise CommandError("no upstream: give --upstream DSN or set upstream in gateway.yaml")
    return dsn, settings.secret(settings.upstream_password_env)


def _rules_classes(path: str | None) -> dict[str, Any] | None:
    """The `classes:` mapping of a rules file, read only for class names."""
    if not path:
        return None
    import yaml

    from gateway.cli import CommandError

    try:
        with open(path, encoding="utf-8") as file:
            data = yaml.safe_load(file) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CommandError(f"{path}: {_first_line(exc)}") from None
    classes = data.get("classes") if isinstance(data, dict) else None
    if not isinstance(classes, dict):
        raise CommandError(f"{path}: no classes: section")
    return classes


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
