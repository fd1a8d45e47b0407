"""The /api routes on a real gateway and a real admin server in the gateway's own loop."""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gateway.admin.api import API, api_routes, openapi
from gateway.admin.app import ROUTES, add_api_routes, from_config, serve
from gateway.app import Gateway
from tests.integration.conftest import RULES, conninfo
from tests.integration.gateway_thread import GatewayThread

TOKEN_ENV = "PGW_TEST_API_TOKEN"
TOKEN = "api-test-token-7f3c"


class Admin:
    """A running gateway with its admin server; `call` speaks HTTP to it."""

    def __init__(self, gw: GatewayThread, base: str, rules_file: Path) -> None:
        self.gw, self.base, self.rules_file = gw, base, rules_file

    def call(self, method: str, path: str, body: Any = None,
             token: str | None = TOKEN) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        if data:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode()


@pytest.fixture(scope="module")
def admin(upstream_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Admin]:
    rules_file = tmp_path_factory.mktemp("rules") / "customers.yaml"
    shutil.copy(RULES, rules_file)
    os.environ[TOKEN_ENV] = TOKEN
    gw = GatewayThread({"upstream": upstream_dsn, "rules": str(rules_file),
                        "admin_token_env": TOKEN_ENV}).start()

    def build() -> Any:
        app = from_config(gw.config, lambda: True)
        add_api_routes(app, api_routes(gw.gateway))
        return app

    runner = gw.call(lambda: serve(build(), "127.0.0.1", 0))
    port = runner.addresses[0][1]
    try:
        yield Admin(gw, f"http://127.0.0.1:{port}", rules_file)
    finally:
        gw.call(runner.cleanup)
        gw.stop()
        os.environ.pop(TOKEN_ENV, None)


def _concrete(path: str) -> str:
    return path.replace("{name}", "crm_app")


def test_every_api_route_refuses_a_missing_or_wrong_token(admin: Admin) -> None:
    for route in API:
        for token in (None, "wrong"):
            status, _ = admin.call(route.method, _concrete(route.path), token=token)
            assert status == 401, (route.method, route.path, token)


def test_openapi_document_lists_every_route(admin: Admin) -> None:
    status, doc = admin.call("GET", "/api/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    served = {(m.lower(), p) for m, p, _ in api_routes(admin.gw.gateway)}
    served |= {(m.lower(), p) for m, p, _ in ROUTES}
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert served == documented
    for path, ops in doc["paths"].items():
        for op in ops.values():
            assert op["security"] == ([{"bearerAuth": []}] if path.startswith("/api/") else [])


def test_openapi_document_is_valid_openapi_3() -> None:
    validator = pytest.importorskip(
        "openapi_spec_validator",
        reason="openapi-spec-validator not installed (scripts/install-ops-tools.sh)")
    validator.validate(openapi())


def test_sessions_show_who_and_why_but_no_statement_text(admin: Admin) -> None:
    literal = "literal-4711-do-not-show"
    with psycopg.connect(conninfo(admin.gw, "crm_app", "customer_service")) as conn:
        for _ in range(3):
            conn.execute(f"SELECT '{literal}'").fetchall()
        status, body = admin.call("GET", "/api/sessions")
    assert status == 200 and literal not in json.dumps(body)
    mine = [s for s in body if s["principal"] == "crm_app"]
    assert len(mine) == 1
    view = mine[0]
    assert view["purpose"] == "customer_service" and view["client"] == "127.0.0.1"
    assert view["statements"] >= 3 and view["phase"] == "ready"
    assert set(view) == {"id", "principal", "purpose", "client", "phase", "start",
                         "statements", "rows"}


def test_rules_version_and_reload_keeps_old_rules_on_failure(admin: Admin) -> None:
    status, body = admin.call("GET", "/api/rules")
    first = body["version"]
    assert status == 200 and first == admin.gw.gateway.rules.version
    original = admin.rules_file.read_text(encoding="utf-8")
    try:
        admin.rules_file.write_text(original + "\n# reviewed\n", encoding="utf-8")
        status, body = admin.call("POST", "/api/rules/reload")
        assert status == 200 and body["ok"] is True
        assert body["previous"] == first and body["version"] != first
        second = body["version"]
        admin.rules_file.write_text("version: 1\nclasses: [broken\n", encoding="utf-8")
        status, body = admin.call("POST", "/api/rules/reload")
        assert status == 422 and body == {"ok": False, "version": second, "previous": second}
        assert admin.call("GET", "/api/rules")[1]["version"] == second
    finally:
        admin.rules_file.write_text(original, encoding="utf-8")
        admin.call("POST", "/api/rules/reload")


def test_blocking_an_unknown_or_malformed_principal_is_refused(admin: Admin) -> None:
    assert admin.call("POST", "/api/principals/nobody_here/block")[0] == 404
    assert admin.call("POST", "/api/principals/bad%20name/block")[0] == 404
    assert admin.call("DELETE", "/api/principals/bad%20name/block")[0] == 404


def test_block_ends_sessions_and_refuses_logins_until_unblocked(admin: Admin) -> None:
    if not hasattr(Gateway, "block"):
        assert admin.call("POST", "/api/principals/risk_analyst/block")[0] == 501
        pytest.skip("Gateway.block/unblock not wired in this build yet")
    info = conninfo(admin.gw, "risk_analyst")
    with psycopg.connect(info) as live:
        status, body = admin.call("POST", "/api/principals/risk_analyst/block",
                                  {"reason": "drill"})
        assert status == 200 and body["blocked"] is True
        with pytest.raises(psycopg.OperationalError):
            live.execute("SELECT 1")
    try:
        with pytest.raises(psycopg.OperationalError, match="access suspended"):
            psycopg.connect(info)
    finally:
        status, body = admin.call("DELETE", "/api/principals/risk_analyst/block")
    assert status == 200 and body["blocked"] is False
    with psycopg.connect(info) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
