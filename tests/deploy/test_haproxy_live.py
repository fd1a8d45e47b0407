"""The HAProxy example in front of two real gateways: /readyz decides where clients go."""

from __future__ import annotations

import pwd
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gateway.admin.app import make_app, serve
from tests.deploy.support import DEPLOY, tool
from tests.integration.conftest import RULES, conninfo
from tests.integration.gateway_thread import GatewayThread

CONFIG = DEPLOY / "haproxy" / "haproxy.cfg"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def _local_config(replicas: list[Replica], front: int, stats: int) -> str:
    """The example with this machine's addresses and a faster check interval."""
    text = CONFIG.read_text()
    text = text.replace("bind :5432", f"bind 127.0.0.1:{front}")
    text = text.replace("bind 127.0.0.1:8404", f"bind 127.0.0.1:{stats}")
    text = text.replace("inter 2s", "inter 100ms").replace("slowstart 10s", "")
    text = re.sub(r"^\s*server .*\n", "", text, flags=re.M)
    servers = "".join(f"    server gw{i} 127.0.0.1:{r.gw.port} port {r.admin_port}\n"
                      for i, r in enumerate(replicas, 1))
    text = text.replace("\n# HAProxy's own metrics", servers + "\n# HAProxy's own metrics")
    try:
        pwd.getpwnam("haproxy")
    except KeyError:  # the Debian package creates this user; elsewhere run as we are
        text = re.sub(r"^\s*(user|group) haproxy\n", "", text, flags=re.M)
    return text


@pytest.fixture
def balanced(upstream_dsn: str, tmp_path: Path) -> Iterator[tuple[Any, list[Replica], int]]:
    haproxy = tool("haproxy")
    replicas = [Replica(upstream_dsn), Replica(upstream_dsn)]
    front = _free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(_local_config(replicas, front, _free_port()))
    process = subprocess.Popen([haproxy, "-db", "-f", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(front)
        yield process, replicas, front
    finally:
        process.terminate()
        process.wait(10)
        for replica in replicas:
            replica.stop()


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("haproxy did not start listening")


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
