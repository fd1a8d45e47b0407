"""The admin aiohttp application: a routes table, and a bearer-token guard on /api/.

ROUTES lists the built-in routes; later features add theirs with `add_api_routes`,
which puts them under /api/ behind the token from `admin_token_env`. Without a
configured token every /api/ route answers 403 (fail closed).
"""

from __future__ import annotations

import hmac
import inspect
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from gateway.metrics import REGISTRY

# ready() -> bool, or {check name: bool}; may be async
ReadyCheck = Callable[[], bool | Mapping[str, bool] | Awaitable[bool | Mapping[str, bool]]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REGISTRY_KEY = web.AppKey("registry", CollectorRegistry)
READY_KEY = web.AppKey("ready", object)
TOKEN_KEY = web.AppKey("token", object)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY_KEY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def readyz(request: web.Request) -> web.Response:
    try:
        result: Any = request.app[READY_KEY]()
        if inspect.isawaitable(result):
            result = await result
    except Exception:  # a failing check means not ready, never a 500 with a traceback
        result = False
    checks = dict(result) if isinstance(result, Mapping) else {"ready": bool(result)}
    ok = all(checks.values())
    return web.Response(status=200 if ok else 503, content_type="application/json",
                        text=json.dumps({"ready": ok, "checks": checks}))


# (method, path, handler)
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/metrics", metrics),
    ("GET", "/healthz", healthz),
    ("GET", "/readyz", readyz),
)


@web.middleware
async def _api_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        token = request.app[TOKEN_KEY]
        given = request.headers.get("Authorization", "")
        if not token:
            raise web.HTTPForbidden(text="admin API disabled: no admin token configured\n")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise web.HTTPUnauthorized(text="bearer token required\n",
                                       headers={"WWW-Authenticate": "Bearer"})
    return await handler(request)


def make_app(ready: ReadyCheck, token: str | None = None,
             registry: CollectorRegistry = REGISTRY) -> web.Application:
    """The admin app; `ready` backs /readyz, `token` guards /api/."""
    app = web.Application(middlewares=[_api_guard])
    app[REGISTRY_KEY], app[READY_KEY], app[TOKEN_KEY] = registry, ready, token
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    return app


def add_api_routes(app: web.Application,
                   routes: Iterable[tuple[str, str, Handler]]) -> None:
    """Add (method, path under /api/, handler) routes; the token guard applies to them."""
    for method, path, handler in routes:
        if not path.startswith("/api/"):
            raise ValueError(f"admin API route must start with /api/: {path}")
        app.router.add_route(method, path, handler)


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving; call `await runner.cleanup()` to stop."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def from_config(config, ready: ReadyCheck) -> web.Application:
    """The admin app with the token from `admin_token_env`; serve it at config `admin`
    (gateway.config.split_address) after adding any /api routes."""
    return make_app(ready, token=config.secret(config.values.get("admin_token_env")))
