"""Three gateway processes on one state database: windows add up, blocks spread, chains verify."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from tests.conftest import scratch_database
from tests.integration.conftest import PASSWORDS, RULES
from tests.support.haproxy import HAProxy

ROOT = Path(__file__).resolve().parents[2]
AUDIT_KEY = "scale-out audit secret"
ADMIN_TOKEN = "scale-out admin token"
SUBJECT_LIMIT = 50  # customer_service subjects_per_hour in the test rules
CONNECTION_LOST = (psycopg.OperationalError, psycopg.errors.AdminShutdown)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], Any], timeout: float, step: float = 0.05) -> Any:
    """The first truthy result of check(), or the last falsy one after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(step)


def small_limits_rules(folder: Path, subjects: int = SUBJECT_LIMIT) -> Path:
    """rules/customers.yaml with a low subjects_per_hour for customer_service."""
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    rules["purposes"]["customer_service"]["limits"]["subjects_per_hour"] = subjects
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    return path


class GatewayProcess:
    """`python -m gateway.cli serve` with its own ports, audit spool and log file."""

    def __init__(self, folder: Path, name: str, settings: dict[str, Any]) -> None:
        self.folder, self.name = folder, name
        self.port, self.admin_port = free_port(), free_port()
        self.config = folder / f"{name}.yaml"
        self.config.write_text(yaml.safe_dump({
            "listen": f"127.0.0.1:{self.port}", "admin": f"127.0.0.1:{self.admin_port}",
            "audit_spool": str(folder / f"{name}.spool"),
            "playbooks": str(ROOT / "incident" / "playbooks"), **settings}))
        self.log = folder / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def replica(self) -> str:
        """The replica name the gateway writes into the audit log (host:listen port)."""
        return f"{socket.gethostname()}:{self.port}"

    def start(self, timeout: float = 30.0) -> GatewayProcess:
        argv = [sys.executable, "-m", "gateway.cli", "--config", str(self.config), "serve"]
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                         cwd=ROOT, env=gateway_env())
        if not wait_until(self.ready, timeout, 0.1):
            self.kill()
            raise AssertionError(f"{self.name} not ready:\n{self.tail()}")
        return self

    def ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.tail()}")
        try:
            return admin_request(self, "GET", "/readyz")[0] == 200
        except OSError:
            return False

    def terminate(self, timeout: float = 15.0) -> float:
        """SIGTERM; seconds until the process exited (it must exit on its own)."""
        assert self.proc is not None
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout)
        return time.monotonic() - began

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def gateway_env() -> dict[str, str]:
    # PGW_* variables of the test run would override the files: keep only ours.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGW_")}
    return {**env, "PGW_AUDIT_KEY": AUDIT_KEY, "PGW_ADMIN_TOKEN": ADMIN_TOKEN}


def admin_request(gw: GatewayProcess, method: str, path: str,
                  body: dict | None = None) -> tuple[int, Any]:
    """(status, parsed JSON or text) of one admin HTTP call, with the bearer token."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{gw.admin_port}{path}", data=data, method=method,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            status, text = answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def client(port: int, upstream: str, user: str, purpose: str) -> str:
    """libpq connection string for a demo principal at 127.0.0.1:port."""
    dbname = psycopg.conninfo.conninfo_to_dict(upstream)["dbname"]
    return psycopg.conninfo.make_conninfo(
        host="127.0.0.1", port=port, dbname=dbname, user=user, password=PASSWORDS[user],
        sslmode="disable", options=f"-c privacy.purpose={purpose}", connect_timeout=5)


def state_rows(state: str, query: str, *params: Any) -> list[tuple]:
    with psycopg.connect(state, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "gateway.cli", "--config", str(config), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env=gateway_env())


def stop_all(replicas: list[GatewayProcess]) -> None:
    for gw in replicas:
        if gw.proc is not None and gw.proc.poll() is None:
            try:
                gw.terminate()
            except subprocess.TimeoutExpired:
                gw.kill()


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def cluster(sample_dsn: str, server_dsn: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """Three gateway processes sharing a scratch state database."""
    folder = tmp_path_factory.mktemp("scaleout")
    rules = small_limits_rules(folder)
    with scratch_database(server_dsn, "pgw_scale") as state:
        settings = {"upstream": sample_dsn, "state": state, "rules": str(rules)}
        replicas = [GatewayProcess(folder, f"gw{i}", settings) for i in (1, 2, 3)]
        try:
            for gw in replicas:
                gw.start()
            yield replicas, state, sample_dsn
        finally:
            stop_all(replicas)


def _subjects_by_replica(state: str, principal: str) -> dict[str, int]:
    rows = state_rows(state, "SELECT e.replica, count(DISTINCT s) FROM privacy_gateway.exposure"
                             " e, unnest(e.subjects) s WHERE e.principal = %s GROUP BY 1",
                      principal)
    return dict(rows)


def _subject_alerts(state: str, principal: str) -> list[tuple]:
    return state_rows(state, "SELECT replica, details FROM privacy_gateway.alerts"
                             " WHERE rule = 'subjects_per_hour' AND principal = %s", principal)


def _read_customers(dsn: str, offset: int, count: int) -> list[int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT id, name FROM customers ORDER BY id LIMIT %s OFFSET %s",
                            (count, offset)).fetchall()
    return [r[0] for r in rows]


# ------------------------------------------------------------------ tests


def test_subject_window_adds_up_across_replicas(cluster) -> None:
    replicas, state, upstream = cluster
    gw1, gw2, gw3 = replicas
    # 25 + 25 distinct customers on two replicas: exactly the limit, no alert.
    for n, gw in enumerate((gw1, gw2)):
        ids = _read_customers(client(gw.port, upstream, "crm_app", "customer_service"),
                              25 * n, 25)
        assert len(ids) == 25
    by_replica = wait_until(lambda: (seen := _subjects_by_replica(state, "crm_app"))
                            and sum(seen.values()) == 50 and seen, 5)
    assert by_replica == {gw1.replica: 25, gw2.replica: 25}
    time.sleep(2.5)  # two metering intervals on both replicas
    assert _subject_alerts(state, "crm_app") == []
    # 25 more on a third replica: 75 across the cluster, though none saw more than 25.
    _read_customers(client(gw3.port, upstream, "crm_app", "customer_service"), 50, 25)
    alerts = wait_until(lambda: _subject_alerts(state, "crm_app"), 10)
    assert alerts, f"no subjects_per_hour alert; ledger {_subjects_by_replica(state, 'crm_app')}"
    replica, details = alerts[0]
    assert replica == gw3.replica
    assert details["subjects"] == 75 and details["limit"] == SUBJECT_LIMIT
    assert max(_subjects_by_replica(state, "crm_app").values()) <= SUBJECT_LIMIT


def test_bulk_read_through_haproxy_is_split_and_still_trips_the_limit(cluster, tmp_path) -> None:
    replicas, state, upstream = cluster
    balancer = HAProxy(tmp_path, replicas)
    try:
        # Three sessions held open at once: leastconn puts one on each replica.
        info = client(balancer.port, upstream, "risk_analyst", "customer_service")
        conns = [psycopg.connect(info) for _ in replicas]
        try:
            for n, conn in enumerate(conns):
                conn.execute("SELECT id, name FROM customers ORDER BY id LIMIT 20 OFFSET %s",
                             (20 * n,)).fetchall()
        finally:
            for conn in conns:
                conn.close()
    finally:
        balancer.stop()
    by_replica = wait_until(lambda: (seen := _subjects_by_replica(state, "risk_analyst"))
                            and len(seen) == 3 and seen, 5)
    assert sorted(by_replica) == sorted(gw.replica for gw in replicas)
    assert set(by_replica.values()) == {20}
    alerts = wait_until(lambda: _subject_alerts(state, "risk_analyst"), 10)
    assert alerts and alerts[0][1]["subjects"] == 60


def _suspended_within(conn: psycopg.Connection, timeout: float) -> float | None:
    """Seconds until a live session is ended by the gateway, or None."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            conn.execute("SELECT 1").fetchone()
        except CONNECTION_LOST:
            return time.monotonic() - began
        time.sleep(0.02)
    return None


def test_block_through_one_replica_reaches_the_others(cluster) -> None:
    replicas, state, upstream = cluster
    gw1, gw2, gw3 = replicas
    live = [psycopg.connect(client(gw.port, upstream, "marketing_tool", "marketing"),
                            autocommit=True) for gw in (gw2, gw3)]
    try:
        status, body = admin_request(gw1, "POST", "/api/principals/marketing_tool/block",
                                     {"reason": "scale-out test"})
        assert (status, body["blocked"]) == (200, True)
        ended = [_suspended_within(conn, 3.0) for conn in live]
        assert all(t is not None and t < 1.5 for t in ended), ended
        for gw in (gw2, gw3):
            with pytest.raises(psycopg.OperationalError, match="access suspended"):
                psycopg.connect(client(gw.port, upstream, "marketing_tool", "marketing"))
    finally:
        for conn in live:
            conn.close()
        admin_request(gw1, "DELETE", "/api/principals/marketing_tool/block")
    info = client(gw3.port, upstream, "marketing_tool", "marketing")
    assert wait_until(lambda: _logs_in(info), 3)


def _logs_in(info: str) -> bool:
    try:
        psycopg.connect(info).close()
        return True
    except psycopg.OperationalError:
        return False


def test_audit_chains_verify_per_replica(cluster) -> None:
    replicas, state, upstream = cluster
    for gw in replicas:
        with psycopg.connect(client(gw.port, upstream, "crm_app", "customer_service")) as conn:
            conn.execute("SELECT count(*) FROM orders").fetchone()
    names = {gw.replica for gw in replicas}
    written = lambda: {r[0] for r in state_rows(  # noqa: E731
        state, "SELECT DISTINCT replica FROM privacy_gateway.audit_log")} >= names
    assert wait_until(written, 5)
    config = replicas[0].config
    done = cli(config, "audit", "verify")
    assert done.returncode == 0, done.stdout + done.stderr
    for gw in replicas:
        done = cli(config, "audit", "verify", "--replica", gw.replica)
        assert done.returncode == 0, done.stdout + done.stderr
        assert re.search(r"ok: [1-9]\d* records", done.stdout), done.stdout
