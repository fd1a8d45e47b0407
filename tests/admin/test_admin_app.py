"""The admin server over real HTTP on 127.0.0.1."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from gateway.admin.app import add_api_routes, make_app, serve
from gateway.metrics import metric


async def _start(app):
    runner = await serve(app, "127.0.0.1", 0)
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def _get(url, **kw):
    async with aiohttp.ClientSession() as session, session.get(url, **kw) as response:
        return response.status, await response.text()


async def test_metrics_health_and_ready():
    state = {"upstream": True, "state": True}
    runner, base = await _start(make_app(lambda: state))
    try:
        metric("statements").labels("deny").inc()
        status, text = await _get(f"{base}/metrics")
        assert status == 200 and 'pgw_statements_total{decision="deny"}' in text
        assert (await _get(f"{base}/healthz"))[0] == 200
        assert (await _get(f"{base}/readyz"))[0] == 200
        state["state"] = False
        status, text = await _get(f"{base}/readyz")
        assert status == 503 and '"state": false' in text
    finally:
        await runner.cleanup()


async def test_async_ready_check_that_raises_is_not_ready():
    async def broken():
        raise RuntimeError("boom")
    runner, base = await _start(make_app(broken))
    try:
        assert (await _get(f"{base}/readyz"))[0] == 503
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("token,auth,status", [
    (None, "Bearer x", 403),
    ("s3cret", None, 401),
    ("s3cret", "Bearer wrong", 401),
    ("s3cret", "Bearer s3cret", 200),
])
async def test_api_routes_need_the_token(token, auth, status):
    async def sessions(request):
        return web.json_response([])
    app = make_app(lambda: True, token=token)
    add_api_routes(app, [("GET", "/api/sessions", sessions)])
    runner, base = await _start(app)
    try:
        headers = {"Authorization": auth} if auth else {}
        assert (await _get(f"{base}/api/sessions", headers=headers))[0] == status
    finally:
        await runner.cleanup()


def test_api_routes_must_live_under_api():
    with pytest.raises(ValueError):
        add_api_routes(make_app(lambda: True), [("GET", "/sessions", None)])


async def test_from_config_reads_the_token(tmp_path, monkeypatch):
    from gateway.admin.app import from_config
    from gateway.config import load

    monkeypatch.setenv("PGW_ADMIN_TOKEN", "t0ken")
    (tmp_path / "g.yaml").write_text("admin: 127.0.0.1:0\n")
    app = from_config(load(tmp_path / "g.yaml"), lambda: True)

    async def ping(request):
        return web.Response(text="pong")
    add_api_routes(app, [("GET", "/api/ping", ping)])
    runner, base = await _start(app)
    try:
        assert (await _get(f"{base}/api/ping", headers={"Authorization": "Bearer t0ken"})) == (
            200, "pong")
    finally:
        await runner.cleanup()
