"""Push to Alertmanager itself (POST /api/v2/alerts), so its routing and silences apply."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gateway.alerts.model import Alert
from gateway.alerts.sinks.webhook import WebhookSink, encode
from gateway.alerts.text import labels

# Alertmanager resolves an alert nobody re-sends after endsAt; grouping keeps it open.
RESOLVE_AFTER = timedelta(hours=1)


def body(alert: Alert, link: str | None = None) -> list[dict[str, Any]]:
    annotations = {"summary": alert.summary, "description": alert.explanation}
    annotations.update({k: str(v) for k, v in alert.details.items() if k != "explanation"})
    return [{"labels": labels(alert), "annotations": annotations,
             "startsAt": alert.ts.isoformat(),
             "endsAt": (alert.ts + RESOLVE_AFTER).isoformat(),
             "generatorURL": link or ""}]


def make(options: dict[str, Any], secret: str | None) -> WebhookSink:
    """`url` is Alertmanager's base URL (http://host:9093) or the full /api/v2/alerts."""
    url = options["url"].rstrip("/")
    if not url.endswith("/api/v2/alerts"):
        url += "/api/v2/alerts"
    link = options.get("link")
    return WebhookSink(url, lambda a, u: (u, encode(body(a, link)), {}),
                       name="alertmanager_api")
