"""`privacy-gateway serve`: the production entry point."""

from __future__ import annotations

import argparse

from gateway.cli import CommandError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", help="host:port to accept clients on (overrides listen)")
    parser.add_argument("--upstream", help="upstream DSN (overrides upstream)")
    parser.add_argument("--rules", help="rules file (overrides rules)")


def run(args: argparse.Namespace) -> int:
    from gateway import app, config, logging_setup

    overrides = {k: getattr(args, k) for k in ("listen", "upstream", "rules") if getattr(args, k)}
    try:
        cfg = config.load(args.config, overrides)
    except config.ConfigError as exc:
        raise CommandError(str(exc)) from None
    try:
        logging_setup.configure(json=cfg.log_format == "json", level=cfg.log_level)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    gateway = app.Gateway(cfg)

    async def main() -> None:
        await gateway.start()
        await gateway.serve_forever()

    try:
        app.run(main())
    except app.StartupError as exc:
        raise CommandError(str(exc)) from None
    return 0
