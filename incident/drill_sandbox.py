"""The drill's sandbox: a scratch database with sample customers and the gateway's accounting."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from gateway import config as gateway_config
from gateway.audit.record import AuditRecord
from gateway.metering.runtime import start_accounting
from gateway.metering.usage import StatementUse, TableUse
from gateway.policy.rules import load_rules
from gateway.state.connect import as_url, prepare
from incident import schema
from incident.settings import Settings

BATCH = 10  # rows per replayed statement


class SandboxError(Exception):
    """The sandbox cannot be made (no CREATEDB right, no rules file ...)."""


@dataclass
class Sandbox:
    """A scratch database on the state database's server."""

    name: str
    url: str
    password: str | None
    rules_path: Path

    @classmethod
    async def create(cls, conn: asyncpg.Connection, settings: Settings,
                     customers: int) -> Sandbox:
        name = f"pgw_drill_{uuid.uuid4().hex[:10]}"
        rules = settings.rules_path or Path("rules/customers.yaml")
        if not rules.exists():
            raise SandboxError(f"{rules}: rules file not found")
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.PostgresError as exc:
            raise SandboxError(f"cannot create the sandbox database ({exc.sqlstate})") from None
        box = cls(name, _with_db(as_url(settings.state_dsn), name, settings.state_password),
                  settings.state_password, rules)
        from gateway.sample.load import load  # psycopg, synchronous: off the event loop

        await asyncio.to_thread(load, box.url, customers)
        await prepare(box.url)
        async with _Conn(box) as c:
            await schema.migrate(c)
        return box

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.url, timeout=10)

    async def drop(self, conn: asyncpg.Connection, keep: bool) -> None:
        if not keep:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class _Conn:
    def __init__(self, box: Sandbox) -> None:
        self.box = box

    async def __aenter__(self) -> asyncpg.Connection:
        self.conn = await self.box.connect()
        return self.conn

    async def __aexit__(self, *exc: object) -> None:
        await self.conn.close()


async def leak_reads(box: Sandbox, settings: Settings, rows: int) -> tuple[str, float]:
    """Replay a bulk read ending on a canary through the gateway's accounting, as the session
    reports it; returns the principal and the loop time the first row left."""
    rules = load_rules(box.rules_path)
    canaries = {t.name: frozenset(t.canaries) for t in rules.tables.values() if t.canaries}
    table = next(iter(canaries))
    principal = next(p for p in rules.principals.values() if p.purposes)
    purpose = rules.purposes[principal.purposes[0]]
    columns = set(rules.tables[table].columns.values())
    clear = sorted(columns & set(purpose.show))
    masked = sorted(columns - set(purpose.show) - set(purpose.hide) - set(purpose.deny))
    spool = Path(tempfile.mkdtemp(prefix="drill-spool-"))
    config = gateway_config.load(_empty_config(spool), environ={}, overrides={
        "upstream": box.url, "audit_spool": str(spool / "audit"), "alerts": [],
        # the same audit key as the real gateway, so evidence verifies with it
        "keys": {"audit_signing_key_env": settings.audit_key_env or "PGW_AUDIT_KEY"}})
    accounting = await start_accounting(config, replica="drill", canaries=canaries)
    subjects = [str(i) for i in range(1, rows)] + [sorted(canaries[table])[0]]
    loop = asyncio.get_running_loop()
    first = loop.time()
    try:
        for start in range(0, len(subjects), BATCH):
            chunk = subjects[start:start + BATCH]
            seq = accounting.auditor.submit(AuditRecord(
                session_id="drill", principal=principal.name, purpose=purpose.name,
                statement=f"SELECT * FROM {table} WHERE id = ANY($1)", rows=len(chunk),
                subjects=len(chunk), decision="rewrite"))
            accounting.metering.observe(StatementUse(
                principal=principal.name, purpose=purpose.name, decision="rewrite",
                session_id="drill", audit_seq=seq, tables=[TableUse(
                    table=table, rows=len(chunk), subjects=chunk, clear_classes=clear,
                    masked_classes=masked)]))
        await accounting.auditor.flush()
    finally:
        await accounting.close()
    return principal.name, first


def _with_db(url: str, name: str, password: str | None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if password and "@" in netloc and ":" not in netloc.split("@")[0]:
        user, host = netloc.split("@", 1)
        netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, f"/{name}", parts.query, ""))


def _empty_config(folder: Path) -> Path:
    path = folder / "gateway.yaml"
    path.write_text("{}\n")
    return path
