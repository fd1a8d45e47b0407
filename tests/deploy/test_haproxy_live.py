"""The HAProxy example in front of two real gateways: /readyz decides where clients go."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gateway.admin.app import make_app, serve
from tests.deploy.support import tool
from tests.integration.conftest import RULES, conninfo
from tests.integration.gateway_thread import GatewayThread
from tests.support.haproxy import HAProxy, Server


class Replica:
    """A gateway with its admin server; `ready` is what its /readyz answers."""

    def __init__(self, upstream: str) -> None:
        self.ready = True
        self.gw = GatewayThread({"upstream": upstream, "rules": str(RULES)}).start()
        app = make_app(lambda: self.ready)
        self.runner = self.gw.call(lambda: serve(app, "127.0.0.1", 0))
        self.admin_port = self.runner.addresses[0][1]

    def sessions(self) -> int:
        return len(self.gw.gateway.listener.clients)

    def stop(self) -> None:
        self.gw.call(self.runner.cleanup)
        self.gw.stop()


@pytest.fixture
def balanced(upstream_dsn: str, tmp_path: Path) -> Iterator[tuple[Any, list[Replica], int]]:
    tool("haproxy")  # skip before starting any gateway
    replicas = [Replica(upstream_dsn), Replica(upstream_dsn)]
    try:
        balancer = HAProxy(tmp_path, [Server(f"gw{i}", r.gw.port, r.admin_port)
                                      for i, r in enumerate(replicas, 1)])
        try:
            yield balancer.proc, replicas, balancer.port
        finally:
            balancer.stop()
    finally:
        for replica in replicas:
            replica.stop()


def _connect(replica: Replica, front: int) -> psycopg.Connection:
    info = conninfo(replica.gw, "crm_app", "customer_service", port=front)
    return psycopg.connect(info, connect_timeout=5)


def test_a_replica_that_is_not_ready_gets_no_new_clients_and_keeps_its_own(
        balanced: tuple[Any, list[Replica], int]) -> None:
    _, replicas, front = balanced
    first = _connect(replicas[0], front)
    try:
        draining = next(r for r in replicas if r.sessions() == 1)
        other = next(r for r in replicas if r is not draining)
        draining.ready = False
        time.sleep(0.6)  # fall 2 checks at 100 ms, with room for a busy machine
        later = [_connect(other, front) for _ in range(4)]
        assert draining.sessions() == 1 and other.sessions() == 4
        # The open session on the replica marked down carries on.
        assert first.execute("SELECT 1").fetchone() == (1,)
        for conn in later:
            conn.close()
    finally:
        first.close()
