"""End to end through real gateways: a canary read, the intake, the playbook, the block."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psycopg
import pytest
import yaml

from gateway.sample import load
from tests.conftest import scratch_database
from tests.integration.conftest import PASSWORDS, ROOT, RULES, conninfo
from tests.integration.gateway_thread import GatewayThread

KEY_ENV = "PGW_E2E_AUDIT_KEY"
SECRET = "end to end audit secret"
PRINCIPAL = "crm_app"
CANARY = 900001
TARGET_S = 2.0  # first canary row at the client -> principal blocked on every replica
INTAKE_APP = "incident_intake_e2e"
# Seconds between intake polls: the CLI default unless a benchmark run asks otherwise.
INTAKE_INTERVAL = os.environ.get("PGW_E2E_INTAKE_INTERVAL", "0.25")


@dataclass
class Deployment:
    """Two replicas sharing one state database, and the `incident` config beside them."""

    replicas: list[GatewayThread]
    state: str
    config: Path
    env: dict[str, str]


def _cli(dep: Deployment, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "incident.cli", "--config", str(dep.config),
                           "--actor", "e2e", *args], capture_output=True, text=True,
                          timeout=60, env=dep.env, cwd=ROOT)


def _rows(dsn: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def _wait_rows(dsn: str, query: str, *params: object, timeout: float = 10.0) -> list[tuple]:
    deadline = time.monotonic() + timeout
    while not (rows := _rows(dsn, query, *params)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return rows


@pytest.fixture(scope="module")
def sample_dsn(server_dsn: str) -> Iterator[str]:
    """The sample customers (canaries included) in a database of their own."""
    with scratch_database(server_dsn, "pgw_e2e_sample") as dsn:
        load(dsn)
        yield dsn


@pytest.fixture
def deployment(sample_dsn: str, server_dsn: str, tmp_path: Path) -> Iterator[Deployment]:
    with pytest.MonkeyPatch.context() as patch, scratch_database(server_dsn, "pgw_e2e") as state:
        patch.setenv(KEY_ENV, SECRET)  # the gateways read it from the process environment
        gateway = {"upstream": sample_dsn, "rules": str(RULES), "state": state,
                   "keys": {"audit_signing_key_env": KEY_ENV}}
        replicas = [GatewayThread(gateway).start() for _ in range(2)]
        config = tmp_path / "gateway.yaml"
        # The intake names itself so the test can see when it is polling.
        config.write_text(yaml.safe_dump({**gateway,
                                          "state": f"{state} application_name={INTAKE_APP}"}))
        (tmp_path / "incident.yaml").write_text(yaml.safe_dump({"workdir": str(tmp_path / "w")}))
        dep = Deployment(replicas, state, config, {**os.environ, KEY_ENV: SECRET})
        intake = subprocess.Popen([sys.executable, "-m", "incident.cli", "--config", str(config),
                                   "--actor", "intake", "intake", "--watch", "--interval",
                                   INTAKE_INTERVAL], env=dep.env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            # Its connection's last statement is a poll (or the commit ending one).
            polling = _wait_rows(state, "SELECT 1 FROM pg_stat_activity WHERE application_name"
                                        " = %s AND (query = 'COMMIT;' OR query LIKE"
                                        " '%%incident_signals%%')", INTAKE_APP, timeout=30)
            assert polling or intake.poll() is None, intake.stderr.read().decode()
            assert polling, "the intake did not start polling"
            yield dep
        finally:
            intake.terminate()
            intake.wait(10)
            for gw in replicas:
                gw.stop()


def _login(gw: GatewayThread) -> psycopg.Connection:
    return psycopg.connect(conninfo(gw, PRINCIPAL), autocommit=True, connect_timeout=5)


def _blocked_at(replicas: list[GatewayThread], timeout: float) -> list[float]:
    """Monotonic time at which each replica's block list first holds the principal."""
    seen: list[float | None] = [None] * len(replicas)
    deadline = time.monotonic() + timeout
    while None in seen:
        assert time.monotonic() < deadline, f"not blocked everywhere in {timeout} s: {seen}"
        for i, gw in enumerate(replicas):
            if seen[i] is None and gw.gateway.is_blocked(PRINCIPAL):
                seen[i] = time.monotonic()
        time.sleep(0.002)
    return seen


def _refusal(gw: GatewayThread) -> asyncpg.PostgresError:
    """The error a new login of the principal gets (asyncpg reports its SQLSTATE)."""
    dbname = psycopg.conninfo.conninfo_to_dict(gw.config.upstream)["dbname"]

    async def login() -> None:
        conn = await asyncpg.connect(host=gw.host, port=gw.port, user=PRINCIPAL, ssl=False,
                                     password=PASSWORDS[PRINCIPAL], database=dbname)
        await conn.close()

    with pytest.raises(asyncpg.PostgresError) as refused:
        asyncio.run(login())
    return refused.value


def test_canary_read_is_contained_on_every_replica(deployment: Deployment) -> None:
    a, b = deployment.replicas
    live_b = _login(b)
    assert live_b.execute("SELECT 1").fetchone() == (1,)

    with _login(a) as client:
        rows = client.execute("SELECT id, name, phone FROM customers WHERE id = %s",
                              (CANARY,)).fetchall()
        received, received_wall = time.monotonic(), time.time()
        assert [r[0] for r in rows] == [CANARY]
        seen = _blocked_at([a, b], timeout=15)
    elapsed = max(seen) - received
    written = _rows(deployment.state, "SELECT extract(epoch FROM created_at)::float8 FROM"
                                      " privacy_gateway.principal_blocks")[0][0] - received_wall
    print(f"\ncanary row at client -> blocked on every replica: {elapsed * 1000:.0f} ms"
          f" (block written {written * 1000:.0f} ms; A {(seen[0] - received) * 1000:.0f} ms,"
          f" B {(seen[1] - received) * 1000:.0f} ms)")
    assert elapsed <= TARGET_S

    with pytest.raises(psycopg.OperationalError, match="access suspended"):
        _login(b)
    refused = _refusal(b)
    assert (refused.sqlstate, str(refused)) == ("28000", "access suspended")
    with pytest.raises(psycopg.errors.AdminShutdown):  # 57P01
        live_b.execute("SELECT 1")
    live_b.close()

    incident_id = _incident(deployment)
    _assert_release_restores(deployment, incident_id)
    _assert_affected_from_ledger(deployment, incident_id)


def _incident(dep: Deployment) -> str:
    """The incident the intake opened for the canary alert, with its containment done."""
    found = _wait_rows(dep.state, "SELECT s.incident_id FROM privacy_gateway.incident_signals s"
                                  " JOIN privacy_gateway.alerts a ON a.id = s.alert_id"
                                  " WHERE a.rule LIKE 'canary%%' AND a.principal = %s"
                                  " AND s.incident_id IS NOT NULL", PRINCIPAL)
    assert len(found) == 1, found
    incident_id = found[0][0]
    # The playbook stops at the step that needs a human, or at a failed step.
    _wait_rows(dep.state, "SELECT 1 FROM privacy_gateway.incident_steps WHERE incident_id = %s"
                          " AND (status = 'failed' OR step_id = 'freeze-purpose'"
                          " AND status = 'waiting')", incident_id)
    steps = dict(_rows(dep.state, "SELECT step_id, coalesce(error, status) FROM"
                                  " privacy_gateway.incident_steps WHERE incident_id = %s",
                       incident_id))
    assert steps.get("freeze-purpose") == "waiting", steps  # the playbook ran to its approval
    assert steps["block-principal"] == steps["affected"] == "done", steps
    return incident_id


def _assert_affected_from_ledger(dep: Deployment, incident_id: str) -> None:
    """assess.affected counted the canary from the ledger row the gateway wrote."""
    # The ledger row is the gateway's own: it points at the audit record of the statement
    # the client sent, with the literal taken out.
    ledger = _wait_rows(dep.state, "SELECT e.principal, e.table_name, e.subjects, a.statement"
                                   " FROM privacy_gateway.exposure e JOIN"
                                   " privacy_gateway.audit_log a ON a.replica = e.replica"
                                   " AND a.seq = e.audit_seq")
    assert len(ledger) == 1, ledger
    principal, table, subjects, statement = ledger[0]
    assert (principal, table, subjects) == (PRINCIPAL, "public.customers", [str(CANARY)])
    assert "WHERE id = $1" in statement and str(CANARY) not in statement
    shown = _cli(dep, "--json", "show", incident_id)
    assert shown.returncode == 0, shown.stderr
    assessment = json.loads(shown.stdout)["incident"]["facts"]["assessment"]
    # Alerts are stored only after the ledger rows queued before them, so the intake can
    # never assess before the exposure it was raised for is on record.
    assert assessment["canary_subjects"] == 1
    assert assessment["subjects"] == 0  # a canary is nobody to notify
    assert assessment["records"] == assessment["statements"] == 1


def _assert_release_restores(dep: Deployment, incident_id: str) -> None:
    released = _cli(dep, "release", incident_id)
    assert released.returncode == 0, released.stderr
    assert "block-principal" in released.stdout
    b = dep.replicas[1]
    deadline = time.monotonic() + 2
    while b.gateway.is_blocked(PRINCIPAL):
        assert time.monotonic() < deadline, "replica b did not hear of the release"
        time.sleep(0.01)
    with _login(b) as again:
        assert again.execute("SELECT 1").fetchone() == (1,)
