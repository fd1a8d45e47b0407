"""`privacy-gateway audit verify`: check the audit chain, name the first bad record."""

from __future__ import annotations

import argparse

from gateway.cli import CommandError


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser("verify", help="check MACs, sequence, signatures, end markers")
    verify.add_argument("--replica", help="only this gateway instance's records")
    verify.add_argument("--require-end", action="store_true",
                        help="fail when a chain has no end marker (crash or truncation)")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from gateway.audit.keys import AuditKeyError, from_config
    from gateway.config import ConfigError, load
    from gateway.state.connect import state_dsn, state_password

    try:
        config = load(args.config)
        keys = from_config(config, strict=True)
        dsn = state_dsn(config)
    except (ConfigError, AuditKeyError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    report = asyncio.run(_verify(dsn, state_password(config), keys, args.replica))
    return _print(report, args.require_end)


async def _verify(dsn, password, keys, replica):
    from gateway.audit.store import read_log
    from gateway.audit.verify import Verifier
    from gateway.state.connect import connect

    try:
        conn = await connect(dsn, password)
    except Exception as exc:  # any failure to connect is one line, not a traceback
        raise CommandError(f"state database unreachable ({type(exc).__name__})") from None
    verifier = Verifier(keys)
    try:
        async with conn.transaction(readonly=True):
            async for row in read_log(conn, replica):
                verifier.feed(row)
    except Exception as exc:
        if type(exc).__name__ == "UndefinedTableError":
            raise CommandError("no privacy_gateway.audit_log in the state database"
                               " (no gateway has written to it yet)") from None
        raise CommandError(f"cannot read the audit log ({type(exc).__name__})") from None
    finally:
        await conn.close()
    return verifier.finish()


def _print(report, require_end: bool) -> int:
    for replica, chain, last in report.open_chains:
        print(f"note: chain {replica}/{chain} has no end marker after seq {last}"
              " (gateway running, crashed, or log truncated)")
    if not report.ok:
        for problem in report.problems:
            print(f"FAIL {problem}")
        raise CommandError(f"audit log verification failed at {report.first_bad}")
    if require_end and report.open_chains:
        raise CommandError("audit log verification failed: chain without end marker")
    print(f"ok: {report.checked} records in {report.chains} chains,"
          f" {report.checkpoints} signed checkpoints")
    return 0
