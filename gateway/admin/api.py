"""The admin /api handlers: sessions, principal blocks, rules version and reload, OpenAPI.

`api_routes(gateway)` returns (method, path, handler) rows for
`gateway.admin.app.add_api_routes`, which puts them behind the bearer token. Answers carry
principal, purpose and rule names and counts only: never statement text or row values.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from aiohttp import web

from gateway.admin.app import ROUTES as PUBLIC_ROUTES
from gateway.admin.app import Handler

log = logging.getLogger("gateway.admin.api")

# Principal names as the rules file spells them; anything else is refused before use.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,62}$")
_MAX_REASON = 200
DEFAULT_REASON = "blocked via admin API"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


# ------------------------------------------------------------------ sessions


def _when(value: Any) -> str | None:
    """A start time (epoch seconds or datetime) as ISO 8601 UTC."""
    if isinstance(value, int | float):
        value = dt.datetime.fromtimestamp(value, dt.UTC)
    return value.isoformat() if isinstance(value, dt.datetime) else None


def session_view(session: Any) -> dict[str, Any]:
    """What the API shows of one session: who, why, from where, how much; no SQL."""
    principal = session.principal.name if session.principal else None
    return {"id": session.id, "principal": principal, "purpose": session.purpose,
            "client": session.client_address, "phase": session.phase,
            "start": _when(getattr(session, "started_at", None)),
            "statements": session.statements, "rows": getattr(session, "rows", None)}


def sessions(gateway: Any) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        clients = list(gateway.listener.clients) if gateway.listener else []
        views = [session_view(c.session) for c in clients
                 if c.session is not None and c.session.phase != "closed"]
        return web.json_response(sorted(views, key=lambda v: v["id"]))
    return handler


# ------------------------------------------------------------------ blocks


def _principal_name(request: web.Request) -> str | None:
    name = request.match_info["name"]
    return name if _NAME.match(name) else None


async def _reason(request: web.Request) -> str:
    if not request.can_read_body:
        return DEFAULT_REASON
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text='{"error": "body must be JSON"}',
                                 content_type="application/json") from None
    reason = body.get("reason") if isinstance(body, dict) else None
    return str(reason)[:_MAX_REASON] if reason else DEFAULT_REASON


async def _call_block(gateway: Any, method: str, *args: Any) -> web.Response | bool:
    action = getattr(gateway, method, None)
    if action is None:
        return _error(501, f"this gateway build cannot {method} principals")
    try:
        return bool(await _maybe_await(action(*args)))
    except Exception as exc:  # the admin must get an answer; the type alone is logged
        log.error("%s failed: %s", method, type(exc).__name__)
        return _error(503, f"{method} failed: state database unavailable")


def block(gateway: Any) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        name = _principal_name(request)
        rules = gateway.rules
        if name is None or rules is None or name not in rules.principals:
            return _error(404, "no such principal in the current rules")
        changed = await _call_block(gateway, "block", name, await _reason(request))
        if isinstance(changed, web.Response):
            return changed
        log.info("principal blocked via admin API", extra={"principal": name})
        return web.json_response({"principal": name, "blocked": True, "changed": changed})
    return handler


def unblock(gateway: Any) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        # Unknown names are allowed: a block may outlive the principal's rules entry.
        name = _principal_name(request)
        if name is None:
            return _error(404, "invalid principal name")
        changed = await _call_block(gateway, "unblock", name)
        if isinstance(changed, web.Response):
            return changed
        log.info("principal unblocked via admin API", extra={"principal": name})
        return web.json_response({"principal": name, "blocked": False, "changed": changed})
    return handler


# ------------------------------------------------------------------ rules


def _version(gateway: Any) -> str | None:
    return gateway.rules.version if gateway.rules else None


def rules(gateway: Any) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        current = gateway.rules
        if current is None:
            return _error(503, "no rules loaded")
        return web.json_response({"version": current.version,
                                  "principals": len(current.principals),
                                  "purposes": sorted(current.purposes)})
    return handler


def reload(gateway: Any) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        before = _version(gateway)
        ok = bool(await _maybe_await(gateway.reload()))
        body = {"ok": ok, "version": _version(gateway), "previous": before}
        # 422: the new file was refused and the previous rules stay in force.
        return web.json_response(body, status=200 if ok else 422)
    return handler


# ------------------------------------------------------------------ the table


@dataclass(frozen=True)
class Route:
    """One /api route: its handler factory and what the OpenAPI document says of it."""

    method: str
    path: str
    make: Callable[[Any], Handler]
    summary: str
    responses: dict[str, tuple[str, str | None]]  # status -> (description, schema name)
    body: str | None = None  # request body schema name


_AUTH = {"401": ("missing or wrong bearer token", "Error"),
         "403": ("admin API disabled: no token configured", "Error")}
API: tuple[Route, ...] = (
    Route("GET", "/api/sessions", sessions, "live client sessions (no statement text)",
          {"200": ("sessions", "Sessions")}),
    Route("POST", "/api/principals/{name}/block", block,
          "suspend a principal on every replica and end its live sessions",
          {"200": ("blocked", "BlockResult"), "404": ("unknown principal", "Error"),
           "501": ("not available in this build", "Error"),
           "503": ("state database unavailable", "Error")}, body="BlockRequest"),
    Route("DELETE", "/api/principals/{name}/block", unblock, "lift a principal's suspension",
          {"200": ("unblocked", "BlockResult"), "404": ("invalid principal name", "Error"),
           "501": ("not available in this build", "Error"),
           "503": ("state database unavailable", "Error")}),
    Route("GET", "/api/rules", rules, "the rules version in force",
          {"200": ("current rules", "RulesInfo"), "503": ("no rules loaded", "Error")}),
    Route("POST", "/api/rules/reload", reload,
          "re-read the rules file; on failure the previous rules stay in force",
          {"200": ("reloaded", "ReloadResult"),
           "422": ("refused, previous rules kept", "ReloadResult")}),
    Route("GET", "/api/openapi.json", lambda gateway: openapi_handler,
          "this document", {"200": ("OpenAPI 3 document", None)}),
)


def api_routes(gateway: Any) -> list[tuple[str, str, Handler]]:
    """(method, path, handler) for every /api route, bound to `gateway`."""
    return [(r.method, r.path, r.make(gateway)) for r in API]


async def openapi_handler(request: web.Request) -> web.Response:
    return web.json_response(openapi())


# ------------------------------------------------------------------ OpenAPI

_STR, _INT = {"type": "string"}, {"type": "integer"}
_NULL_STR, _NULL_INT = {"type": "string", "nullable": True}, {"type": "integer", "nullable": True}
SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {"type": "object", "properties": {"error": _STR}},
    "Session": {"type": "object", "properties": {
        "id": _INT, "principal": _NULL_STR, "purpose": _NULL_STR, "client": _STR,
        "phase": _STR, "start": {**_NULL_STR, "format": "date-time"},
        "statements": _INT, "rows": _NULL_INT}},
    "Sessions": {"type": "array", "items": {"$ref": "#/components/schemas/Session"}},
    "BlockRequest": {"type": "object", "properties": {"reason": {**_STR, "maxLength": 200}}},
    "BlockResult": {"type": "object", "properties": {
        "principal": _STR, "blocked": {"type": "boolean"}, "changed": {"type": "boolean"}}},
    "RulesInfo": {"type": "object", "properties": {
        "version": _STR, "principals": _INT, "purposes": {"type": "array", "items": _STR}}},
    "ReloadResult": {"type": "object", "properties": {
        "ok": {"type": "boolean"}, "version": _NULL_STR, "previous": _NULL_STR}},
}
_PUBLIC = {"/metrics": "Prometheus metrics (no personal data in labels)",
           "/healthz": "the process is up", "/readyz": "upstream and state reachable, rules loaded"}


def _responses(spec: dict[str, tuple[str, str | None]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, (description, schema) in spec.items():
        out[status] = {"description": description}
        if schema:
            ref = {"$ref": f"#/components/schemas/{schema}"}
            out[status]["content"] = {"application/json": {"schema": ref}}
    return out


def _operation(route: Route) -> dict[str, Any]:
    slug = re.sub(r"\W+", "_", route.path).strip("_")
    op: dict[str, Any] = {
        "summary": route.summary, "operationId": f"{route.method.lower()}_{slug}",
        "security": [{"bearerAuth": []}], "responses": _responses({**route.responses, **_AUTH})}
    if "{name}" in route.path:
        op["parameters"] = [{"name": "name", "in": "path", "required": True,
                             "schema": {**_STR, "pattern": _NAME.pattern}}]
    if route.body:
        ref = {"$ref": f"#/components/schemas/{route.body}"}
        op["requestBody"] = {"required": False,
                             "content": {"application/json": {"schema": ref}}}
    return op


def openapi() -> dict[str, Any]:
    """The OpenAPI 3 description of every admin route, public and /api."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path, _ in PUBLIC_ROUTES:
        op_id = f"{method.lower()}_{path.strip('/')}"
        paths.setdefault(path, {})[method.lower()] = {
            "summary": _PUBLIC.get(path, path), "operationId": op_id, "security": [],
            "responses": {"200": {"description": "ok"}, "503": {"description": "not ready"}}
            if path == "/readyz" else {"200": {"description": "ok"}}}
    for route in API:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {"openapi": "3.0.3",
            "info": {"title": "privacy gateway admin API", "version": _package_version()},
            "paths": paths,
            "components": {"schemas": SCHEMAS, "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"}}}}


def _package_version() -> str:
    try:
        return metadata.version("privacy-gateway")
    except metadata.PackageNotFoundError:
        return "0"
