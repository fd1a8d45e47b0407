"""`privacy-gateway audit verify` (check the chain, name the first bad record) and
`audit public-key` (the checkpoint key, for auditors who verify without the secret)."""

from __future__ import annotations

import argparse

from gateway.cli import CommandError


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser("verify", help="check MACs, sequence, signatures, end markers")
    verify.add_argument("--replica", help="only this gateway instance's records")
    verify.add_argument("--require-end", action="store_true",
                        help="fail when a chain has no end marker (crash or truncation)")
    verify.add_argument("--public-key", metavar="HEX",
                        help="without the secret: check links and checkpoint signatures only")
    sub.add_parser("public-key", help="print the Ed25519 checkpoint public key (hex)")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from gateway.audit.keys import AuditKeyError, from_config
    from gateway.config import ConfigError, load
    from gateway.state.connect import state_dsn, state_password

    try:
        config = load(args.config)
        public = getattr(args, "public_key", None)
        keys = None if public else from_config(config, strict=True)
        if args.audit_command == "public-key":
            print(keys.public_hex())
            return 0
        public = _public_key(public) if public else None
        dsn = state_dsn(config)
    except (ConfigError, AuditKeyError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    report = asyncio.run(_verify(dsn, state_password(config), keys, public, args.replica))
    if public is not None:
        print("note: no secret given: MACs not checked, only links and signatures")
    return _print(report, args.require_end)


def _public_key(text: str):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
    except ValueError:
        raise ValueError("--public-key: expected 64 hex digits") from None


async def _verify(dsn, password, keys, public, replica):
    from gateway.audit.store import read_log
    from gateway.audit.verify import Verifier
    from gateway.state.connect import command_connection

    verifier = Verifier(keys, public)
    async with (command_connection(dsn, password, "audit_log", "audit log") as conn,
                conn.transaction(readonly=True)):
        async for row in read_log(conn, replica):
            verifier.feed(row)
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
