"""Incident fixtures: the state schema, a customer table, rules, and real receivers.

Leaks are made in incident_support.py, the way the gateway makes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest
import yaml
from aiohttp import web
from aiosmtpd.controller import Controller
from incident_support import AUDIT_SECRET, CUSTOMERS, KEY_ENV

from gateway.embedded import free_port
from gateway.state.connect import as_url, prepare
from incident import schema
from incident import settings as incident_settings
from tests.conftest import scratch_database
from tests.support.http_receiver import serving

RULES = """
version: 1
classes:
  person_name: {mask: name}
  mobile: {mask: {keep_first: 3, keep_last: 4}}
  id_card: {mask: {keep_first: 6, keep_last: 4}, sensitive: true}
  email: {mask: email}
tables:
  public.customers:
    subject: id
    columns: {name: person_name, phone: mobile, id_no: id_card, email: email}
    canaries: [900001, 900002]
purposes:
  customer_service: {show: [person_name], lookup: [mobile]}
principals:
  crm_app: {password_env: CRM_APP_PASSWORD, purposes: [customer_service]}
"""


@pytest.fixture(scope="session")
def incident_dsn(server_dsn: str) -> Iterator[str]:
    """A state database of its own: other areas' alerts must not open incidents here."""
    with scratch_database(server_dsn, "pgw_incident") as dsn:
        yield dsn


@pytest.fixture(scope="session")
async def state_dsn(incident_dsn: str) -> str:
    url = as_url(incident_dsn)
    await prepare(url)
    conn = await asyncpg.connect(url)
    try:
        await schema.migrate(conn)
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {CUSTOMERS} (id int PRIMARY KEY, name text,"
            " phone text, email text);"
            f"INSERT INTO {CUSTOMERS} SELECT i, '客户' || i, '1380000' || lpad(i::text, 4, '0'),"
            " CASE WHEN i % 2 = 0 THEN 'c' || i || '@example.cn' END"
            " FROM generate_series(1, 50) i ON CONFLICT DO NOTHING")
    finally:
        await conn.close()
    return url


@pytest.fixture(scope="session")
def rules_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "customers.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


@pytest.fixture
async def conn(state_dsn):
    connection = await asyncpg.connect(state_dsn)
    yield connection
    await connection.close()


@dataclass
class Mailbox:
    """Messages received by a real SMTP server on 127.0.0.1."""

    port: int = 0
    messages: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def mailbox():
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@dataclass
class Receiver:
    """A real HTTP server recording JSON posts."""

    url: str = ""
    posts: list[dict] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.posts.append({"path": request.path, "body": json.loads(await request.read())})
        return web.Response(status=200)


@pytest.fixture
async def receiver():
    async with serving(Receiver()) as rec:
        yield rec


@pytest.fixture
def settings(state_dsn, rules_file, tmp_path, mailbox, receiver, monkeypatch):
    """Settings as `incident` builds them, with real SMTP and HTTP receivers."""
    monkeypatch.setenv(KEY_ENV, AUDIT_SECRET)
    s = incident_settings.load(base={
        "workdir": str(tmp_path / "incidents"),
        "channels": {"email": {"type": "smtp", "host": "127.0.0.1", "port": mailbox.port,
                               "sender": "privacy@example.cn"},
                     "sms": {"type": "sms_webhook", "url": f"{receiver.url}/sms"},
                     "chat": {"type": "webhook", "url": f"{receiver.url}/chat"}},
        "security": [{"channel": "email", "to": "soc@example.cn"}],
        "internal": [{"channel": "chat"}],
        "customers": {"query": f"SELECT id::text AS subject, name, email, phone FROM {CUSTOMERS}"
                               " WHERE id::text = ANY($1::text[])"},
    })
    s.state_dsn = s.upstream_dsn = state_dsn
    s.rules_path = rules_file
    s.audit_key_env = KEY_ENV
    s.alert_sinks = [{"type": "webhook", "url": f"{receiver.url}/alerts", "format": "json"}]
    return s


@pytest.fixture
def config(tmp_path, state_dsn, rules_file, mailbox, receiver, settings):
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump({
        "upstream": state_dsn, "rules": str(rules_file),
        "keys": {"audit_signing_key_env": KEY_ENV},
        "alerts": [{"type": "webhook", "url": f"{receiver.url}/alerts", "format": "json"}]}))
    (tmp_path / "incident.yaml").write_text(yaml.safe_dump({
        "workdir": str(tmp_path / "work"),
        "channels": settings["channels"], "security": settings["security"],
        "customers": {"query": f"SELECT id::text AS subject, name, email, phone FROM {CUSTOMERS}"
                               " WHERE id::text = ANY($1::text[])"}}, allow_unicode=True))
    return str(tmp_path / "gateway.yaml")
