"""Rolling restart of two gateway processes behind HAProxy: clients lose no statement."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from tests.conftest import scratch_database
from tests.integration.conftest import RULES
from tests.integration.test_scaleout import (
    CONNECTION_LOST,
    GatewayProcess,
    HAProxy,
    cli,
    client,
    state_rows,
    stop_all,
)

LOOPS = 2  # client loops running through HAProxy the whole time
SLOW_SECONDS = 1.5  # a statement running on the replica when it gets SIGTERM
EXIT_SECONDS = 6.0  # SIGTERM to exit, a running statement included


@dataclass
class ClientLoop:
    """Issues numbered statements through HAProxy; on a lost connection, reconnects and
    issues the same statement again. Records every failure."""

    info: str
    done: int = 0
    retried: int = 0
    boundary: list[str] = field(default_factory=list)  # failures with the connection gone
    wrong: list[str] = field(default_factory=list)  # anything else: a lost statement
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        conn = None
        while not self.stop.is_set():
            try:
                conn = conn or psycopg.connect(self.info, autocommit=True)
                got = conn.execute("SELECT %s::int", (self.done,)).fetchone()
            except CONNECTION_LOST as exc:
                if conn is not None and not (conn.closed or conn.broken):
                    self.wrong.append(f"{type(exc).__name__} on a live connection: {exc}")
                self.boundary.append(type(exc).__name__)
                self.retried += 1
                conn = _close(conn)
                time.sleep(0.02)
                continue  # the same statement again, on a new connection
            except psycopg.Error as exc:
                self.wrong.append(f"{type(exc).__name__}: {exc}")
                conn = _close(conn)
                continue
            if got != (self.done,):
                self.wrong.append(f"statement {self.done} answered {got}")
            self.done += 1
            time.sleep(0.01)
        _close(conn)


def _close(conn: psycopg.Connection | None) -> None:
    if conn is not None:
        conn.close()


@pytest.fixture
def pair(sample_dsn: str, server_dsn: str, tmp_path: Path) -> Iterator[tuple]:
    with scratch_database(server_dsn, "pgw_roll") as state:
        settings = {"upstream": sample_dsn, "state": state, "rules": str(RULES)}
        replicas = [GatewayProcess(tmp_path, name, settings) for name in ("gwa", "gwb")]
        try:
            for gw in replicas:
                gw.start()
            balancer = HAProxy(tmp_path, replicas)
            try:
                yield replicas, balancer, state, sample_dsn
            finally:
                balancer.stop()
        finally:
            stop_all(replicas)


def _slow_statement(gw: GatewayProcess, upstream: str, outcome: list[str]) -> threading.Thread:
    """Starts pg_sleep on `gw` directly; `outcome` gets 'ok' or the error."""
    def run() -> None:
        try:
            with psycopg.connect(client(gw.port, upstream, "crm_app", "customer_service")) as c:
                c.execute("SELECT pg_sleep(%s)", (SLOW_SECONDS,))
                outcome.append("ok")
        except psycopg.Error as exc:
            outcome.append(f"{type(exc).__name__}: {exc}")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _restart(gw: GatewayProcess, upstream: str) -> tuple[float, str]:
    """SIGTERM while a statement runs there; start it again. (exit seconds, slow outcome)"""
    outcome: list[str] = []
    slow = _slow_statement(gw, upstream, outcome)
    time.sleep(0.4)  # the statement is running on the replica
    took = gw.terminate()
    assert gw.proc is not None and gw.proc.returncode == 0, gw.tail()
    slow.join(10)
    gw.start()
    time.sleep(0.5)  # HAProxy: two good checks at 100 ms bring it back
    return took, outcome[0] if outcome else "no answer"


def test_rolling_restart_loses_no_statement(pair) -> None:
    replicas, balancer, state, upstream = pair
    loops = [ClientLoop(client(balancer.port, upstream, "crm_app", "customer_service"))
             for _ in range(LOOPS)]
    threads = [threading.Thread(target=loop.run, daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        results = [_restart(gw, upstream) for gw in replicas]
        time.sleep(0.5)
    finally:
        for loop in loops:
            loop.stop.set()
        for thread in threads:
            thread.join(10)
    for loop in loops:
        assert loop.wrong == [], loop.wrong
        assert loop.done > 50
    # Each replica drained: its running statement finished, then it exited promptly.
    for took, slow in results:
        assert slow == "ok", slow
        assert SLOW_SECONDS * 0.5 < took < EXIT_SECONDS, took
    # Every statement a client saw succeed is in the audit log, and every chain was
    # closed with an end marker: the audit queue was flushed on SIGTERM.
    stop_all(replicas)
    audited = state_rows(state, "SELECT count(*) FROM privacy_gateway.audit_log"
                                " WHERE statement = 'SELECT $1::int'")[0][0]
    assert audited >= sum(loop.done for loop in loops)
    done = cli(replicas[0].config, "audit", "verify", "--require-end")
    assert done.returncode == 0, done.stdout + done.stderr
