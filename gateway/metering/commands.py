"""`privacy-gateway subject report ID`: who saw one customer's data, when, why, how."""

from __future__ import annotations

import argparse
import json

from gateway.cli import CommandError


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="subject_command", required=True)
    report = sub.add_parser("report", help="exposures of one customer (access requests)")
    report.add_argument("subject", help="the customer's subject id (as in the rules' subject)")
    report.add_argument("--table", help="only this classified table, e.g. public.customers")
    report.add_argument("--since", help="only from this ISO date or time on")
    report.add_argument("--json", action="store_true", help="one JSON document per line")


def run(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import UTC, datetime

    from gateway.config import ConfigError, load
    from gateway.state.connect import state_dsn, state_password

    try:
        config = load(args.config)
        dsn = state_dsn(config)
        since = datetime.fromisoformat(args.since) if args.since else None
    except (ConfigError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    rows = asyncio.run(_fetch(dsn, state_password(config), args.subject, args.table, since))
    _print(args.subject, rows, args.json)
    return 0


async def _fetch(dsn, password, subject, table, since):
    from gateway.metering.ledger import subject_report
    from gateway.state.connect import command_connection

    async with command_connection(dsn, password, "exposure", "exposure ledger") as conn:
        return await subject_report(conn, subject, table, since)


def _print(subject: str, rows, as_json: bool) -> None:
    if as_json:
        for r in rows:
            print(json.dumps({**dict(r), "ts": r["ts"].isoformat()}, ensure_ascii=False))
        return
    if not rows:
        print(f"subject {subject}: no recorded exposure")
        return
    print(f"subject {subject}: {len(rows)} exposure(s)")
    for r in rows:
        shown = ", ".join(r["clear_classes"]) or "-"
        masked = ", ".join(r["masked_classes"]) or "-"
        kind = " (aggregate)" if r["aggregate"] else ""
        print(f"{r['ts']:%Y-%m-%d %H:%M:%S%z}  {r['principal']}  purpose={r['purpose']}"
              f"  {r['table_name']}{kind}  clear: {shown}  masked: {masked}"
              f"  audit {r['replica']}/{r['audit_seq']}")
