"""`privacy-gateway rules check|explain`: validate a rules file, show what a query becomes."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="rules_command", required=True)
    check = sub.add_parser("check", help="validate a rules file (exit 1 with FILE:LINE lines)")
    check.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    check.add_argument("file", help="rules YAML file")
    check.add_argument("--upstream", help="DSN: also check tables, columns and mask types")
    explain = sub.add_parser("explain", help="print the rewritten SQL and column decisions")
    explain.add_argument("--config", default=argparse.SUPPRESS,
                         help="gateway.yaml whose `rules` key names the rules file")
    explain.add_argument("sql", help="the statement to explain (nothing is run)")
    explain.add_argument("--purpose", required=True, help="purpose to explain it under")
    explain.add_argument("--rules", help="rules file (default: `rules` of the configuration)")
    explain.add_argument("--upstream", help="DSN to read the real column lists from")


def run(args: argparse.Namespace) -> int:
    if args.rules_command == "check":
        return _check(args)
    return _explain(args)


def _check(args: argparse.Namespace) -> int:
    from gateway.policy.check import check_against_catalog
    from gateway.policy.masks import unscannable_in_sql

    rules, problems = _load(args.file)
    if rules is not None and args.upstream:
        problems = check_against_catalog(rules, _catalog(args.upstream, rules))
    for line in problems:
        print(line)
    if problems:
        return 1
    print(f"{args.file}: ok ({len(rules.classes)} classes, {len(rules.tables)} tables, "
          f"{len(rules.purposes)} purposes, {len(rules.principals)} principals)")
    for cls in rules.classes.values():
        unscannable = unscannable_in_sql(cls.scan)
        if unscannable:
            print(f"{args.file}: note: class {cls.name} scans for {', '.join(unscannable)}, "
                  "which only the gateway's detector finds: where the database masks the "
                  "text (WHERE, ORDER BY, GROUP BY, COPY, cursors) it is not shown")
    return 0


def _explain(args: argparse.Namespace) -> int:
    from gateway.cli import CommandError
    from gateway.policy.rewrite import rewrite

    path = args.rules or _configured_rules(args)
    rules, problems = _load(path)
    if rules is None:
        raise CommandError(f"{problems[0]} ({len(problems)} problem(s); see rules check)")
    purpose = rules.purposes.get(args.purpose)
    if purpose is None:
        raise CommandError(f"purpose {args.purpose} is not defined in {path}")
    catalog = _catalog(args.upstream, rules) if args.upstream else _catalog_from_rules(rules)
    # A stand-in key: the deployment key must never be printed, even as HMAC pads. As the
    # gateway decides: what it masks in the result stream stays clear in the SQL.
    decision = rewrite(args.sql, purpose, rules, catalog, mask_key=b"explain-placeholder-key",
                       gateway_scan=True)
    print(_format(decision, bool(args.upstream)))
    return 0 if decision.refusal is None else 1


def _format(decision: Any, real_catalog: bool) -> str:
    lines = [f"purpose: {decision.purpose}"]
    if decision.refusal:
        lines.append(f"decision: refused, SQLSTATE {decision.refusal.sqlstate}: "
                     f"{decision.refusal.message}")
        return "\n".join(lines)
    lines.append("decision: " + ("allowed, rewritten" if decision.rewritten else
                                 "allowed, sent as written"))
    lines.append(f"statement: {decision.kind}; tables: "
                 f"{', '.join(sorted(decision.tables)) or '(none classified)'}")
    lines.append("columns:")
    for c in sorted(decision.columns, key=lambda c: (c.table, c.column)):
        lookup = " (lookup: compared with the clear value)" if c.lookup else ""
        lines.append(f"  {c.table}.{c.column}: class {c.class_name} -> {c.treatment}{lookup}")
    if not decision.columns:
        lines.append("  (no classified column)")
    passed = sorted([*((i, "free-text scan for " + ", ".join(e)) for i, e in decision.scan_columns),
                     *((i, _mask_words(m)) for i, m in decision.mask_columns)])
    if passed:
        lines.append("masked by the gateway in the result stream (clear in the SQL below), "
                     "by output column:")
        lines.extend(f"  {i + 1}: {what}" for i, what in passed)
    if decision.subject_columns:
        lines.append(f"subject key columns appended (stripped by the gateway): "
                     f"{', '.join(decision.subject_columns)}")
    lines.append(f"exposure: {decision.exposure}")
    if not real_catalog:
        lines.append("note: column lists come from the rules only; "
                     "pass --upstream DSN for the database's own")
    lines.append("sql:")
    lines.append(decision.sql)
    return "\n".join(lines)


def _mask_words(mask: Any) -> str:
    if mask.kind != "keep":
        return f"{mask.kind} mask"
    return (f"keep mask (first {mask.keep_first}, last {mask.keep_last} characters, "
            f"the rest as {mask.char!r})")


def _load(path: str) -> tuple[Any, list[str]]:
    from gateway.policy.rules import RulesError, load_rules

    try:
        return load_rules(path), []
    except RulesError as exc:
        return None, exc.problems


def _configured_rules(args: argparse.Namespace) -> str:
    from gateway import config
    from gateway.cli import CommandError

    try:
        return config.load(getattr(args, "config", None)).rules
    except config.ConfigError as exc:
        raise CommandError(str(exc)) from None


def _catalog(dsn: str, rules: Any) -> Any:
    from gateway.cli import CommandError
    from gateway.policy.catalog import load_catalog

    async def read() -> Any:
        import asyncpg

        conn = await asyncpg.connect(**_connect_args(dsn))
        try:
            return await load_catalog(conn, rules)
        finally:
            await conn.close()

    try:
        return asyncio.run(read())
    except (OSError, ValueError) as exc:
        raise CommandError(f"upstream unreachable: {exc.__class__.__name__}") from None
    except Exception as exc:  # asyncpg's own errors: one line, no traceback
        raise CommandError(f"upstream error: {exc.__class__.__name__}: {exc}") from None


def _connect_args(dsn: str) -> dict[str, Any]:
    """asyncpg takes URLs; libpq's key=value form is translated."""
    if "://" in dsn:
        return {"dsn": dsn}
    names = {"dbname": "database", "host": "host", "port": "port", "user": "user",
             "password": "password"}
    out: dict[str, Any] = {}
    for part in dsn.split():
        key, _, value = part.partition("=")
        if key in names:
            out[names[key]] = int(value) if key == "port" else value.strip("'")
    return out


def _catalog_from_rules(rules: Any) -> Any:
    """A catalog guessed from the rules alone: subject, classified and filter columns."""
    from gateway.policy.catalog import DATETIME, TEXT, Catalog, Column

    tables = {}
    consent = {p.consent_table: p.consent_column for p in rules.purposes.values() if p.consent}
    for name, tdef in rules.tables.items():
        columns = {}
        if tdef.subject:
            columns[tdef.subject] = Column(tdef.subject, "bigint", "N")
        for column, class_name in tdef.columns.items():
            dated = rules.classes[class_name].mask.kind == "year"
            columns[column] = Column(column, "date" if dated else "text",
                                     DATETIME if dated else TEXT)
        if tdef.retention:
            columns[tdef.retention.column] = Column(tdef.retention.column,
                                                    "timestamp with time zone", DATETIME)
        if name in consent:
            columns[consent[name]] = Column(consent[name], "boolean", "B")
        tables[name] = tuple(columns.values())
    return Catalog(tables=tables)
