"""Through a real gateway: audit records, the exposure ledger, canary alerts, audit verify,
subject reports and blocks, all from what real clients did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml

from gateway.session import connection, results
from tests.conftest import scratch_database
from tests.integration.conftest import RULES, conninfo
from tests.integration.gateway_thread import GatewayThread

AUDIT_KEY = "integration audit secret"


@pytest.fixture(scope="module")
def audited(sample_dsn: str, server_dsn: str, tmp_path_factory) -> Iterator[tuple]:
    """A gateway with a state database of its own and a known audit key."""
    os.environ["PGW_AUDIT_KEY"] = AUDIT_KEY
    with scratch_database(server_dsn, "pgw_state") as state:
        gw = GatewayThread({"upstream": sample_dsn, "rules": str(RULES), "state": state}).start()
        folder = tmp_path_factory.mktemp("cfg")
        config = folder / "gateway.yaml"
        config.write_text(yaml.safe_dump({"upstream": sample_dsn, "state": state,
                                          "rules": str(RULES)}))
        try:
            yield gw, state, config
        finally:
            gw.stop()


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PGW_AUDIT_KEY": AUDIT_KEY}
    return subprocess.run([sys.executable, "-m", "gateway.cli", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=60, env=env)


def _wait_for(state: str, sql: str, timeout: float = 10.0, count: int = 1) -> list[tuple]:
    """The rows of sql once there are `count` of them (records of one session's statements
    can land in different flushes), or what there is at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(state, autocommit=True) as conn:
            rows = conn.execute(sql).fetchall()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_statements_are_audited_without_literals(audited) -> None:
    gw, state, _ = audited
    with psycopg.connect(conninfo(gw)) as conn:
        conn.execute("SELECT name, phone FROM customers WHERE phone = '13800138000'")
    rows = _wait_for(state, "SELECT statement, decision, principal, purpose "
                            "FROM privacy_gateway.audit_log WHERE statement LIKE '%phone = $1%'")
    assert rows and rows[0][1:] == ("rewrite", "crm_app", "customer_service")
    assert "13800138000" not in rows[0][0]
    failed = None
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(conninfo(gw, password="wrong"))
    failed = _wait_for(state, "SELECT decision FROM privacy_gateway.audit_log "
                              "WHERE decision = 'login_failed'")
    assert failed


def test_bytes_that_are_not_utf8_are_audited_and_the_audit_goes_on(audited,
                                                                    monkeypatch) -> None:
    """A client's application_name and a statement comment that are not UTF-8 (libpq
    sends what it is given): their records land with U+FFFD, and the audit goes on."""
    gw, state, _ = audited
    monkeypatch.setenv("PGAPPNAME", "odd app \udcff")  # the byte 0xff, as os.environ keeps it
    with psycopg.connect(conninfo(gw), autocommit=True) as conn:
        with pytest.raises(psycopg.Error, match="invalid byte sequence"):
            conn.execute(b"SELECT 41 /* \xff */")
        assert conn.execute("SELECT 42 AS after_odd_bytes").fetchone() == (42,)
    rows = _wait_for(state, "SELECT statement, application_name FROM privacy_gateway.audit_log"
                            " WHERE application_name LIKE 'odd app%' AND kind = 'statement'"
                            " ORDER BY seq", count=2)
    assert [r[0] for r in rows][-2:] == ["SELECT $1 /* \ufffd */",
                                         "SELECT $1 AS after_odd_bytes"]
    assert {r[1] for r in rows} == {"odd app \ufffd"}
    with psycopg.connect(conninfo(gw)) as conn:  # and the writer still writes
        conn.execute("SELECT 43 AS after_the_odd_session")
    assert _wait_for(state, "SELECT 1 FROM privacy_gateway.audit_log"
                            " WHERE statement = 'SELECT $1 AS after_the_odd_session'")


def test_canary_read_raises_a_critical_alert_and_lands_in_the_ledger(audited) -> None:
    gw, state, config = audited
    with psycopg.connect(conninfo(gw)) as conn:
        rows = conn.execute("SELECT id, name, phone FROM customers WHERE id = 900001").fetchall()
    assert [r[0] for r in rows] == [900001]
    assert "*" in rows[0][2]  # masked for customer service
    alerts = _wait_for(state, "SELECT severity, principal FROM privacy_gateway.alerts "
                              "WHERE rule LIKE '%canary%'")
    assert alerts and alerts[0] == ("critical", "crm_app")
    exposure = _wait_for(state, "SELECT principal, masked_classes FROM privacy_gateway.exposure"
                                " WHERE '900001' = ANY(subjects)")
    assert exposure and exposure[0][0] == "crm_app" and "mobile" in exposure[0][1]
    report = _cli(config, "subject", "report", "900001", "--json")
    assert report.returncode == 0, report.stderr
    lines = [json.loads(line) for line in report.stdout.splitlines() if line.strip()]
    assert any("crm_app" in json.dumps(line, ensure_ascii=False) for line in lines)


def test_audit_verify_passes_on_real_traffic(audited) -> None:
    gw, state, config = audited
    with psycopg.connect(conninfo(gw)) as conn:
        for i in range(20):
            conn.execute("SELECT count(*) FROM orders WHERE customer_id = %s", (i,))
    _wait_for(state, "SELECT 1 FROM privacy_gateway.audit_log HAVING count(*) > 20")
    time.sleep(1.5)  # the buffered writer's bounded delay
    done = _cli(config, "audit", "verify")
    assert done.returncode == 0, done.stdout + done.stderr


def test_block_ends_sessions_and_refuses_logins(audited) -> None:
    gw, _, _ = audited
    live = psycopg.connect(conninfo(gw, user="marketing_tool"), autocommit=True)
    assert gw.call(gw.gateway.block, "marketing_tool", "test") is True
    with pytest.raises(psycopg.OperationalError, match="access suspended"):
        psycopg.connect(conninfo(gw, user="marketing_tool"))
    with pytest.raises(psycopg.Error):
        live.execute("SELECT 1")
    live.close()
    assert gw.call(gw.gateway.unblock, "marketing_tool") is True
    deadline = time.monotonic() + 5
    while gw.gateway.is_blocked("marketing_tool") and time.monotonic() < deadline:
        time.sleep(0.05)
    with psycopg.connect(conninfo(gw, user="marketing_tool")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_strict_mode_completes_only_after_the_record_is_durable(sample_dsn, server_dsn):
    os.environ["PGW_AUDIT_KEY"] = AUDIT_KEY
    with scratch_database(server_dsn, "pgw_strict") as state:
        gw = GatewayThread({"upstream": sample_dsn, "rules": str(RULES), "state": state,
                            "audit_durability": "strict"}).start()
        try:
            with psycopg.connect(conninfo(gw), autocommit=True) as conn, \
                    psycopg.connect(state, autocommit=True) as audit:
                for i in range(5):
                    conn.execute("SELECT %s::int AS n", (i,))
                    # no waiting: the reply came after its record was committed
                    count = audit.execute(
                        "SELECT count(*) FROM privacy_gateway.audit_log "
                        "WHERE statement = 'SELECT $1::int AS n'").fetchone()[0]
                    assert count == i + 1
        finally:
            gw.stop()


def test_state_database_down_spools_and_replays(sample_dsn, tmp_path):
    """Audit records survive a state database outage: spooled, then replayed in order."""
    from gateway import embedded

    os.environ["PGW_AUDIT_KEY"] = AUDIT_KEY
    server = embedded.start()
    try:
        gw = GatewayThread({"upstream": sample_dsn, "rules": str(RULES),
                            "state": server.dsn}).start()
        try:
            with psycopg.connect(conninfo(gw), autocommit=True) as conn:
                conn.execute("SELECT 1 AS before_outage")
                time.sleep(0.5)
                server.stop_only()
                for _ in range(10):  # the gateway keeps serving while the state is down
                    assert conn.execute("SELECT 2 AS during_outage").fetchone() == (2,)
                time.sleep(1.0)
                assert gw.gateway.accounting.auditor.degraded
                server.restart()
                conn.execute("SELECT 3 AS after_outage")
            rows = _wait_for(server.dsn, "SELECT 1 FROM privacy_gateway.audit_log WHERE "
                                         "statement = 'SELECT $1 AS after_outage'", 20)
            assert rows
            with psycopg.connect(server.dsn) as state:
                during = state.execute("SELECT count(*) FROM privacy_gateway.audit_log WHERE "
                                       "statement = 'SELECT $1 AS during_outage'").fetchone()
            assert during == (10,)
        finally:
            gw.stop()
    finally:
        server.stop()


def test_a_statement_of_many_customers_reaches_the_ledger_in_batches(audited, monkeypatch) -> None:
    gw, state, _ = audited
    monkeypatch.setattr(results, "SUBJECT_BATCH", 40)  # the gateway runs in this process
    with psycopg.connect(conninfo(gw), application_name="batched read") as conn:
        ids = [r[0] for r in conn.execute(
            "SELECT id, phone FROM customers WHERE id < 900000 ORDER BY id LIMIT 150")]
    assert len(ids) == 150
    audit = _wait_for(state, "SELECT seq, rows, subjects FROM privacy_gateway.audit_log "
                             "WHERE application_name = 'batched read' AND rows = 150")
    assert [a[1:] for a in audit] == [(150, 150)]
    ledger = _wait_for(state, "SELECT audit_seq, rows, subjects FROM privacy_gateway.exposure "
                              "WHERE session_id = (SELECT session_id FROM privacy_gateway."
                              f"audit_log WHERE seq = {audit[0][0]} LIMIT 1) "
                              "AND table_name = 'public.customers' ORDER BY ts, audit_seq")
    batches = [row for row in ledger if row[0] is None]
    assert [(row[1], len(row[2])) for row in batches] == [(0, 40)] * 3
    last = [row for row in ledger if row[0] == audit[0][0]]
    assert [(row[1], len(row[2])) for row in last] == [(150, 30)]
    assert sorted(int(s) for row in ledger for s in row[2]) == sorted(ids)


def test_rows_fetched_from_a_cursor_reach_the_ledger(audited) -> None:
    # psycopg's named cursor: DECLARE, then FETCH FORWARD n (extended protocol)
    gw, state, _ = audited
    with psycopg.connect(conninfo(gw), application_name="cursor export") as conn, \
            conn.cursor(name="export") as cursor:
        cursor.execute("SELECT id, phone FROM customers WHERE id < 900000 ORDER BY id LIMIT 60")
        pages = [cursor.fetchmany(25) for _ in range(3)]
    assert [len(page) for page in pages] == [25, 25, 10]
    assert all(len(row) == 2 and "*" in row[1] for page in pages for row in page)
    audit = _wait_for(state, "SELECT seq, rows, subjects, objects::text FROM privacy_gateway."
                             "audit_log WHERE application_name = 'cursor export' "
                             "AND statement LIKE 'FETCH%' ORDER BY seq", count=3)
    assert [(a[1], a[2]) for a in audit] == [(25, 25), (25, 25), (10, 10)]
    assert all('"phone": "mask"' in a[3] for a in audit)  # what the rows carried
    ledger = _wait_for(state, "SELECT subjects FROM privacy_gateway.exposure WHERE audit_seq "
                              f"IN ({', '.join(str(a[0]) for a in audit)})")
    assert sorted(int(s) for (keys,) in ledger for s in keys) == sorted(
        row[0] for page in pages for row in page)


@pytest.mark.parametrize("fmt", ["csv", "binary"])
def test_lines_copied_out_reach_the_ledger(audited, fmt: str) -> None:
    gw, state, _ = audited
    app = f"copy export {fmt}"
    with psycopg.connect(conninfo(gw), application_name=app) as conn, \
            conn.cursor().copy("COPY (SELECT id, phone FROM customers WHERE id < 900000 "
                               f"ORDER BY id LIMIT 150) TO STDOUT WITH (FORMAT {fmt})") as copy:
        if fmt == "binary":
            copy.set_types(["int8", "text"])
            rows = [(str(i), phone) for i, phone in copy.rows()]
        else:
            lines = b"".join(bytes(block) for block in copy).decode().splitlines()
            rows = [tuple(line.split(",")) for line in lines]
    ids = {row[0] for row in rows}
    audit = _wait_for(state, "SELECT seq, rows, subjects FROM privacy_gateway.audit_log "
                             f"WHERE application_name = '{app}' AND statement LIKE 'COPY%'")
    assert len(rows) == len(ids) == 150
    assert [(a[1], a[2]) for a in audit] == [(150, 150)]
    ledger = _wait_for(state, "SELECT subjects FROM privacy_gateway.exposure WHERE session_id = "
                              "(SELECT session_id FROM privacy_gateway.audit_log WHERE seq = "
                              f"{audit[0][0]} LIMIT 1) AND table_name = 'public.customers'")
    assert {s for (keys,) in ledger for s in keys} == ids
    assert all("*" in phone for _, phone in rows)  # masked, the subject key cut off


def test_a_prepared_statement_run_again_and_again_is_audited_each_time(audited) -> None:
    # after its first run, each batch and its reply take the compiled lane where it is built
    gw, state, _ = audited
    with psycopg.connect(conninfo(gw), application_name="lane probe") as conn:
        for value in range(12):
            row = conn.execute("SELECT %s::int + 1 AS probe", (value,), prepare=True).fetchone()
            assert row == (value + 1,)
        lanes = gw.call(_lanes, gw.gateway.listener)
    assert lanes == (connection.lanes is not None)
    audit = _wait_for(state, "SELECT rows, decision, sqlstate, duration_ms FROM "
                             "privacy_gateway.audit_log WHERE application_name = "
                             "'lane probe' AND statement LIKE '%AS probe%' ORDER BY seq",
                      count=12)
    assert [a[:3] for a in audit] == [(1, "allow", None)] * 12
    assert all(a[3] >= 0 for a in audit)


async def _lanes(listener) -> bool:
    return any(client.lane is not None for client in listener.clients)
