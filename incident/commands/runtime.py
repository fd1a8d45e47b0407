"""What every command runs with: the state connection, settings, who acts, output mode."""

from __future__ import annotations

import argparse
import getpass
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from gateway import config as gateway_config
from gateway.state.connect import connect as state_connect
from incident import schema
from incident import settings as incident_settings
from incident.loader import Playbook, load_dir
from incident.settings import Settings


class CommandError(Exception):
    """A failure reported as one line on stderr."""


@dataclass
class Runtime:
    conn: asyncpg.Connection
    settings: Settings
    actor: str
    json: bool

    def playbooks(self) -> dict[str, Playbook]:
        return load_dir(self.settings.playbooks_dir)

    def playbook(self, name: str) -> Playbook:
        books = self.playbooks()
        if name not in books:
            raise CommandError(f"no playbook {name!r} (have: {', '.join(sorted(books))})")
        return books[name]


def load_settings(args: argparse.Namespace) -> Settings:
    config = gateway_config.load(args.config)
    settings = incident_settings.from_config(config, args.settings)
    if not settings.state_dsn:
        raise CommandError("no state database configured (set state or upstream in the config)")
    return settings


@asynccontextmanager
async def runtime(args: argparse.Namespace) -> AsyncIterator[Runtime]:
    """Connect to the state database (the gateway itself may be down) and migrate."""
    settings = load_settings(args)
    try:
        conn = await state_connect(settings.state_dsn, settings.state_password, args.timeout)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise CommandError(f"state database unreachable ({type(exc).__name__})") from None
    try:
        await schema.migrate(conn)
        actor = args.actor or os.environ.get("PGW_ACTOR") or getpass.getuser()
        yield Runtime(conn=conn, settings=settings, actor=actor, json=args.json)
    finally:
        await conn.close()
