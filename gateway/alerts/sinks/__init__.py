"""Alert sinks by format; `build` turns the `alerts:` configuration list into sinks."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from typing import Any

from gateway.alerts.sinks.base import AlertSink

# format name -> module providing make(options, secret) -> AlertSink
FORMATS: dict[str, str] = {
    "alertmanager": "gateway.alerts.sinks.alertmanager",
    "alertmanager_api": "gateway.alerts.sinks.alertmanager_api",
    "json": "gateway.alerts.sinks.generic_json",
    "slack": "gateway.alerts.sinks.slack",
    "dingtalk": "gateway.alerts.sinks.dingtalk",
    "wecom": "gateway.alerts.sinks.wecom",
    "syslog": "gateway.alerts.sinks.syslog",
}


def build(entries: list[Mapping[str, Any]],
          secret: Callable[[str | None], str | None] = os.environ.get) -> list[AlertSink]:
    """Sinks from config entries such as {type: webhook, url: ..., format: alertmanager,
    secret_env: NAME} or {type: syslog, address: host:port, protocol: udp}."""
    sinks = []
    for i, entry in enumerate(entries):
        kind = entry.get("type", "webhook")
        fmt = "syslog" if kind == "syslog" else entry.get("format", "json")
        if kind not in ("webhook", "syslog") or fmt not in FORMATS:
            raise ValueError(f"alerts[{i}]: unknown sink {kind}/{fmt}")
        if kind == "webhook" and not entry.get("url"):
            raise ValueError(f"alerts[{i}]: webhook needs url")
        env = entry.get("secret_env")
        sinks.append(importlib.import_module(FORMATS[fmt]).make(
            dict(entry), secret(env) if env else None))
    return sinks
