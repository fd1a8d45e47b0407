"""The bypass corpus through a real gateway, with real clients: psycopg, asyncpg and psql.

Every case of tests/policy/bypass_corpus.py is run as a client would run it; whatever
the client receives (cells, COPY lines, error texts) must hold no clear value the purpose
may not see, refusals must be 42501, and legitimate CRM queries return the right rows.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Iterator

import asyncpg
import psycopg
import pytest

from gateway.audit.statement import describe
from gateway.metrics import REGISTRY
from tests.conftest import scratch_database
from tests.integration.gateway_thread import GatewayThread
from tests.integration.tools import client_program
from tests.policy import crm_data
from tests.policy.bypass_corpus import CASES, MK, RISK, Case, Outcome, legit_cases, problems

RULES = "tests/policy/crm_rules.yaml"
PASSWORDS = {"crm_app": "cs-secret", "marketing_tool": "mk-secret", "risk_analyst": "rk-secret"}
ENV = {"CRM_APP_PASSWORD": "cs-secret", "MARKETING_TOOL_PASSWORD": "mk-secret",
       "RISK_ANALYST_PASSWORD": "rk-secret", "PGW_MASK_KEY": "test deployment key"}


def _principal(purpose: str | None) -> str:
    if purpose == MK:
        return "marketing_tool"
    return "crm_app" if purpose == "customer_service" else "risk_analyst"


@pytest.fixture(scope="module")
def crm_gateway(server_dsn: str) -> Iterator[GatewayThread]:
    os.environ.update(ENV)
    with scratch_database(server_dsn, "pgw_bypass") as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            crm_data.load(conn)
        gw = GatewayThread({"upstream": dsn, "rules": RULES}).start()
        gw.misses_at_start = _stream_misses(gw)
        yield gw
        gw.stop()


def _params(gw: GatewayThread, purpose: str | None) -> dict:
    user = _principal(purpose)
    params = {"host": gw.host, "port": gw.port, "user": user, "password": PASSWORDS[user],
              "dbname": psycopg.conninfo.conninfo_to_dict(gw.config.upstream)["dbname"],
              "sslmode": "disable"}
    if purpose:
        params["options"] = f"-c privacy.purpose={purpose}"
    return params


async def _asyncpg(gw: GatewayThread, purpose: str | None) -> asyncpg.Connection:
    p = _params(gw, purpose)
    return await asyncpg.connect(host=p["host"], port=p["port"], user=p["user"],
                                 password=p["password"], database=p["dbname"], ssl=False,
                                 server_settings={"privacy.purpose": purpose} if purpose else {})


def _text(value: object) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return raw.hex() + " " + raw.decode("utf-8", "replace")
    return str(value)


def _received_error(outcome: Outcome, exc: psycopg.Error) -> None:
    diag = exc.diag
    outcome.errors.append(diag.message_primary or str(exc))
    outcome.texts += [str(exc), diag.message_detail or "", diag.message_hint or "",
                      diag.context or ""]
    if diag.sqlstate == "42501" and (diag.message_primary or "").startswith(
            ("privacy gateway", "purpose")):
        outcome.refused, outcome.sqlstate = True, "42501"


def run_psycopg(gw: GatewayThread, c: Case) -> Outcome:
    outcome = Outcome()
    with psycopg.connect(**_params(gw, c.purpose), autocommit=True) as conn:
        for i, step in enumerate(c.steps):
            last = i == len(c.steps) - 1
            cur = conn.cursor(binary=c.binary and last)
            try:
                if step.lstrip().upper().startswith("COPY") and "STDOUT" in step.upper():
                    with cur.copy(step) as copy:
                        for block in copy:
                            outcome.texts.append(bytes(block).decode("utf-8", "replace"))
                            outcome.rows += 1
                    continue
                cur.execute(step, (c.params or None) if last else None)
                while True:
                    if cur.description is not None:
                        for row in cur.fetchall():
                            outcome.rows += 1
                            outcome.texts.extend(_text(v) for v in row)
                    if not cur.nextset():
                        break
            except psycopg.Error as exc:
                _received_error(outcome, exc)
                break
    return outcome


async def run_asyncpg(gw: GatewayThread, c: Case) -> Outcome:
    outcome = Outcome()
    conn = await _asyncpg(gw, c.purpose)
    try:
        for i, step in enumerate(c.steps):
            last = i == len(c.steps) - 1
            sql = _numbered(step)
            try:
                records = await conn.fetch(sql, *(c.params if last else ()))
            except asyncpg.PostgresError as exc:
                outcome.errors.append(str(exc))
                outcome.texts += [str(exc), exc.as_dict().get("detail") or "",
                                  exc.as_dict().get("hint") or ""]
                if exc.sqlstate == "42501" and str(exc).startswith(("privacy gateway", "purpose")):
                    outcome.refused, outcome.sqlstate = True, "42501"
                break
            for record in records:
                outcome.rows += 1
                outcome.texts.extend(_text(v) for v in record.values())
    finally:
        await conn.close()
    return outcome


def _numbered(sql: str) -> str:
    """psycopg-style %s placeholders as the $n asyncpg sends."""
    count = iter(range(1, 100))
    return re.sub(r"%s", lambda _: f"${next(count)}", sql)


def run_psql(gw: GatewayThread, c: Case) -> Outcome:
    p = _params(gw, c.purpose)
    env = {**os.environ, "PGPASSWORD": p.pop("password")}
    script = "\\set ON_ERROR_STOP 1\n" + "".join(
        s.replace("%s", "'" + str(c.params[0]) + "'") if c.params else s
        for s in (step.rstrip(";") + ";\n" for step in c.steps))
    done = subprocess.run([client_program("psql"), "-X", "-A", "-t",
                           psycopg.conninfo.make_conninfo(**p)], input=script,
                          capture_output=True, text=True, env=env, timeout=60)
    outcome = Outcome(texts=[done.stdout, done.stderr])
    outcome.rows = len([line for line in done.stdout.splitlines() if line])
    if done.returncode:
        outcome.errors.append(done.stderr.strip())
        if re.search(r"ERROR:\s+(privacy gateway|purpose)", done.stderr):
            outcome.refused, outcome.sqlstate = True, "42501"
    return outcome


_ids = [c.name for c in CASES]


@pytest.mark.parametrize("c", CASES, ids=_ids)
def test_bypass_with_psycopg(crm_gateway: GatewayThread, c: Case) -> None:
    assert problems(c, run_psycopg(crm_gateway, c)) == []


_ASYNCPG_CASES = [c for c in CASES if not any(s.lstrip().upper().startswith("COPY")
                                              for s in c.steps)]


@pytest.mark.parametrize("c", _ASYNCPG_CASES, ids=[c.name for c in _ASYNCPG_CASES])
async def test_bypass_with_asyncpg(crm_gateway: GatewayThread, c: Case) -> None:
    assert problems(c, await run_asyncpg(crm_gateway, c)) == []


@pytest.mark.parametrize("c", CASES, ids=_ids)
def test_bypass_with_psql(crm_gateway: GatewayThread, c: Case) -> None:
    found = problems(c, run_psql(crm_gateway, c))
    # psql prints no row count we can trust for "empty"/"rows" expectations of multi-step
    # scripts; leaks and refusals are what matter here.
    assert [p for p in found if "rows" not in p] == []


@pytest.mark.parametrize("q", legit_cases(), ids=lambda q: q.name)
def test_crm_queries_through_gateway(crm_gateway: GatewayThread, q) -> None:
    with psycopg.connect(**_params(crm_gateway, q.purpose), autocommit=True) as conn:
        rows = conn.execute(q.sql, q.params or None).fetchall()
    assert tuple(tuple(str(v) if not isinstance(v, int) else v for v in r) for r in rows) == \
        tuple(tuple(str(v) if not isinstance(v, int) else v for v in r) for r in q.expected)


def test_risk_purpose_sees_clear(crm_gateway: GatewayThread) -> None:
    person = next(p for p in crm_data.customers() if not p.expired)
    with psycopg.connect(**_params(crm_gateway, RISK), autocommit=True) as conn:
        row = conn.execute("SELECT phone FROM customers WHERE id = %s", (person.id,)).fetchone()
    assert row == (person.phone,)


def _stream_misses(gateway: GatewayThread) -> float:
    """Rewrite misses the result stream caught, once the gateway's event loop is done with
    what it was doing: a reply goes to the client before its statement is accounted."""
    gateway.call(lambda: None)
    return REGISTRY.get_sample_value("pgw_rewrite_misses_total",
                                     {"reason": "result_stream"}) or 0.0


def test_the_result_stream_layer_never_fired_on_the_corpus(crm_gateway: GatewayThread) -> None:
    """Every case above ran through both layers: the rewrite left nothing to catch."""
    assert _stream_misses(crm_gateway) == crm_gateway.misses_at_start


# A clear mobile the rewrite cannot know about: a literal, in a computed column of a
# statement over customers. The result-stream layer sees a rewrite miss.
LITERAL = "SELECT name, '回电 13812345678' || '' AS note FROM customers WHERE id = $1"


async def test_a_computed_column_holding_a_clear_number_is_masked(
        crm_gateway: GatewayThread, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.server")
    person = next(p for p in crm_data.customers() if not p.expired)
    before = _stream_misses(crm_gateway)
    with psycopg.connect(**_params(crm_gateway, "customer_service"), autocommit=True) as conn:
        text_row = conn.execute(LITERAL.replace("$1", "%s"), (person.id,)).fetchone()
        binary_row = conn.execute(LITERAL.replace("$1", "%s"), (person.id,),
                                  binary=True).fetchone()
        copy_sql = f"COPY ({LITERAL.replace('$1', str(person.id))}) TO STDOUT (FORMAT csv)"
        with conn.cursor().copy(copy_sql) as copy:
            lines = b"".join(bytes(chunk) for chunk in copy).decode()
    conn = await _asyncpg(crm_gateway, "customer_service")
    try:
        asyncpg_row = tuple(await conn.fetchrow(LITERAL, person.id))
    finally:
        await conn.close()
    assert text_row == binary_row == asyncpg_row == (person.name, "回电 138****5678")
    assert lines == f"{person.name},回电 138****5678\n"
    assert _stream_misses(crm_gateway) == before + 4
    logged = [r.getMessage() for r in caplog.records if "rewrite miss" in r.getMessage()]
    assert len(logged) == 4 and not any("5678" in line or person.name in line
                                        for line in logged)
    assert any(describe(LITERAL)[0] in line for line in logged)  # which statement: its fingerprint


def test_binary_copy_fields_pass_the_check_too(crm_gateway: GatewayThread) -> None:
    person = next(p for p in crm_data.customers() if not p.expired)
    before = _stream_misses(crm_gateway)
    with psycopg.connect(**_params(crm_gateway, "customer_service"), autocommit=True) as conn:
        copy_sql = ("COPY (SELECT name, phone FROM customers ORDER BY id LIMIT 5) "
                    "TO STDOUT (FORMAT binary)")
        with conn.cursor().copy(copy_sql) as copy:
            copy.set_types(["text", "text"])  # the subject keys the rewrite added: cut off
            masked = list(copy.rows())
        assert _stream_misses(crm_gateway) == before  # what the rewrite masked passes as it is
        with conn.cursor().copy(f"COPY ({LITERAL.replace('$1', str(person.id))}) "
                                "TO STDOUT (FORMAT binary)") as copy:
            caught = b"".join(bytes(chunk) for chunk in copy)
    assert len(masked) == 5 and all(len(row) == 2 and "*" in row[1] for row in masked)
    assert b"13812345678" not in caught and person.name.encode() in caught
    assert _stream_misses(crm_gateway) == before + 1  # the field with the clear number went as NULL


def test_a_purpose_that_sees_mobiles_clear_gets_the_computed_column_as_it_is(
        crm_gateway: GatewayThread) -> None:
    person = next(p for p in crm_data.customers() if not p.expired)
    with psycopg.connect(**_params(crm_gateway, RISK), autocommit=True) as conn:
        row = conn.execute(LITERAL.replace("$1", "%s"), (person.id,)).fetchone()
    assert row == (person.name, "回电 13812345678")


# The same rows, masked by the gateway (columns only passed through are left clear in the
# SQL, Decision.mask_columns) and by the database (DISTINCT: it must see masked values).
PASSED = "SELECT id, name, phone, email, address FROM customers ORDER BY id"
IN_SQL = "SELECT DISTINCT id, name, phone, email, address FROM customers ORDER BY id"


async def test_columns_masked_by_the_gateway_read_as_masked_by_the_database(
        crm_gateway: GatewayThread) -> None:
    before = _stream_misses(crm_gateway)
    with psycopg.connect(**_params(crm_gateway, "customer_service"), autocommit=True) as conn:
        reads = [conn.execute(sql, binary=binary).fetchall()
                 for sql in (PASSED, IN_SQL) for binary in (False, True)]
    conn = await _asyncpg(crm_gateway, "customer_service")
    try:
        reads += [[tuple(r) for r in await conn.fetch(sql)] for sql in (PASSED, IN_SQL)]
    finally:
        await conn.close()
    assert len(reads[0]) > 10 and all(read == reads[0] for read in reads)
    people = {p.id: p for p in crm_data.customers()}
    for id_, name, phone, email, address in reads[0]:
        person = people[id_]
        assert name == person.name and phone == person.phone[:3] + "****" + person.phone[-4:]
        assert email is None or (email.startswith(person.email[0] + "***@")
                                 and email.endswith(person.email.split("@")[1]))
        assert address is None or "*" in address
    assert _stream_misses(crm_gateway) == before
