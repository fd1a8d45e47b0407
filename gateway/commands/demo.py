"""`privacy-gateway demo`: a sample customer database behind a gateway, in one command."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from gateway.cli import CommandError

DEMO_DATABASE = "crm"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--upstream", help="use this PostgreSQL (superuser DSN) instead of an "
                        "embedded one; the demo creates and loads a database named crm there")
    parser.add_argument("--listen", default="127.0.0.1:6432", help="address for clients")
    parser.add_argument("--customers", type=int, default=3000, help="sample customers to load")
    parser.add_argument("--rules", default=None, help="rules file (default rules/customers.yaml)")


def default_rules() -> Path:
    """rules/customers.yaml in the working folder, else beside the installed package."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidate = base / "rules" / "customers.yaml"
        if candidate.exists():
            return candidate
    raise CommandError("rules/customers.yaml not found: run from the repository or use --rules")


def run(args: argparse.Namespace) -> int:
    from gateway import app, config

    rules = Path(args.rules) if args.rules else default_rules()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    server = None
    try:
        if args.upstream:
            admin_dsn = args.upstream
        else:
            from gateway import embedded

            print("starting an embedded PostgreSQL ...", flush=True)
            server = embedded.start()
            admin_dsn = server.dsn
        upstream = _prepare_database(admin_dsn, args.customers)
        cfg = config.load(None, {"listen": args.listen, "upstream": upstream,
                                 "rules": str(rules), "admin": None}, environ={})
        gateway = app.Gateway(cfg)

        async def main() -> None:
            host, port = await gateway.start()
            print(_instructions(host, port), flush=True)
            await gateway.serve_forever()

        app.run(main())
    except app.StartupError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"demo database: {exc}") from None
    finally:
        if server is not None:
            server.stop()
    return 0


def _prepare_database(admin_dsn: str, customers: int) -> str:
    """Create the crm database if needed and load the sample customers; returns its DSN."""
    import psycopg
    from psycopg import sql

    from gateway.sample import load

    try:
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (DEMO_DATABASE,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DEMO_DATABASE)))
    except psycopg.Error as exc:
        problem = exc.sqlstate or type(exc).__name__
        raise CommandError(f"upstream: cannot prepare the demo database ({problem})") from None
    info = psycopg.conninfo.conninfo_to_dict(admin_dsn)
    info["dbname"] = DEMO_DATABASE
    dsn = psycopg.conninfo.make_conninfo(**info)
    counts = load(dsn, customers=customers)
    print(f"loaded {counts['customers']} customers and {counts['orders']} orders "
          f"({counts['canaries']} canaries)", flush=True)
    return dsn


def _instructions(host: str, port: int) -> str:
    from gateway.sample import DEMO_PRINCIPALS

    lines = [f"\nprivacy gateway demo listening on {host}:{port}  (Ctrl-C to stop)\n",
             "connect with psql as one of the demo principals:"]
    for name, (password, purposes) in DEMO_PRINCIPALS.items():
        for purpose in purposes:
            lines.append(f"  PGPASSWORD={password} psql \"host={host} port={port} "
                         f"dbname={DEMO_DATABASE} user={name} "
                         f"options='-c privacy.purpose={purpose}'\"")
    lines += ["", "then try:  SHOW privacy.purpose;  SELECT name, phone FROM customers LIMIT 5;",
              "(demo passwords are public; see rules/README.md for production verifiers)"]
    return "\n".join(lines)
