"""Fixtures for the client harness: the endpoint the JDBC and node-postgres checks talk to."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from tests.integration.conftest import PASSWORDS
from tests.integration.gateway_thread import GatewayThread

PURPOSE = "customer_service"
ROWS_SQL = "SELECT id, name, phone FROM customers ORDER BY id LIMIT 20"
RUN_TIMEOUT = 60  # seconds; a client that hangs fails the test instead of the run


@dataclass(frozen=True)
class ClientTarget:
    """A PostgreSQL endpoint and the purpose a client declares there."""

    host: str
    port: int
    user: str
    password: str
    dbname: str
    purpose: str = PURPOSE

    def args(self) -> list[str]:
        """Command-line arguments of the client programs (the password goes in env)."""
        return ["--host", self.host, "--port", str(self.port), "--user", self.user,
                "--dbname", self.dbname, "--purpose", self.purpose]

    def env(self) -> dict[str, str]:
        """The environment for a client program: the password out of the process list."""
        return {**os.environ, "PGPASSWORD": self.password}

    def conninfo(self) -> str:
        """A libpq connection string for the same endpoint, user and purpose."""
        return psycopg.conninfo.make_conninfo(
            host=self.host, port=self.port, user=self.user, password=self.password or None,
            dbname=self.dbname, options=f"-c privacy.purpose={self.purpose}")


@pytest.fixture(scope="session")
def client_target(gateway: GatewayThread) -> ClientTarget:
    """The gateway in front of the sample database, as the customer-service application."""
    dbname = psycopg.conninfo.conninfo_to_dict(gateway.config.upstream)["dbname"]
    return ClientTarget(host=gateway.host, port=gateway.port, user="crm_app",
                        password=PASSWORDS["crm_app"], dbname=str(dbname))


@pytest.fixture
def run_client() -> Callable[[list[str], ClientTarget], dict[str, Any]]:
    """Runs a client program against a target and returns its JSON report."""

    def run(command: list[str], target: ClientTarget) -> dict[str, Any]:
        done = subprocess.run(command + target.args(), env=target.env(), capture_output=True,
                              text=True, timeout=RUN_TIMEOUT, check=False)
        assert done.returncode == 0, f"{command[0]} failed: {done.stderr[-2000:]}"
        return json.loads(done.stdout)

    return run


@pytest.fixture
def check_report(client_target: ClientTarget) -> Callable[[dict[str, Any]], None]:
    """Asserts what every client must report, comparing rows with psycopg's view."""
    with psycopg.connect(client_target.conninfo()) as conn:
        expected = [{"id": i, "name": n, "phone": p} for i, n, p in conn.execute(ROWS_SQL)]

    def check(report: dict[str, Any]) -> None:
        assert report["purpose"] == client_target.purpose
        assert report["simple"] == {"one": 1, "word": "ok"}
        assert report["params"] == {"doubled": 42, "echo": "你好", "amount": "12.50"}
        assert report["rows"] == expected and len(expected) == 20
        assert report["prepared"] == expected[:5]
        assert report["error"]["sqlstate"] == "22012"  # division_by_zero
        assert report["after_error"] == 1

    return check
