"""Black-box fixtures: the sample database and a real gateway in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gateway.sample import DEMO_PRINCIPALS, load
from tests.integration.gateway_thread import GatewayThread, self_signed

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules" / "customers.yaml"
# Demo credentials documented in rules/README.md.
PASSWORDS = {name: password for name, (password, _) in DEMO_PRINCIPALS.items()}


@pytest.fixture(scope="session")
def sample_dsn(upstream_dsn: str) -> str:
    """The test database with the sample customers loaded once."""
    load(upstream_dsn)
    return upstream_dsn


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def gateway(sample_dsn: str, tls_files: tuple[str, str]) -> Iterator[GatewayThread]:
    """A gateway with TLS available (not required) in front of the sample database."""
    cert, key = tls_files
    thread = GatewayThread({"upstream": sample_dsn, "rules": str(RULES),
                            "tls": {"cert": cert, "key": key, "client": "allow"}}).start()
    yield thread
    thread.stop()


def conninfo(gw: GatewayThread, user: str = "crm_app", purpose: str | None = None,
             password: str | None = None, **extra: object) -> str:
    """A libpq connection string to the gateway as one of the demo principals."""
    dbname = psycopg.conninfo.conninfo_to_dict(gw.config.upstream)["dbname"]
    params = {"host": gw.host, "port": gw.port, "user": user, "dbname": dbname,
              "password": PASSWORDS.get(user, "") if password is None else password,
              "sslmode": "disable", **extra}
    if purpose:
        params["options"] = f"-c privacy.purpose={purpose}"
    return psycopg.conninfo.make_conninfo(**params)
