"""Alertmanager webhook format (version 4 notification), for receivers that take it."""

from __future__ import annotations

from typing import Any

from gateway.alerts.model import Alert
from gateway.alerts.sinks.webhook import WebhookSink, encode
from gateway.alerts.text import labels


def body(alert: Alert, link: str | None = None) -> dict[str, Any]:
    annotations = {"summary": alert.summary, "description": alert.explanation}
    annotations.update({k: str(v) for k, v in alert.details.items() if k != "explanation"})
    item = {"status": "firing", "labels": labels(alert), "annotations": annotations,
            "startsAt": alert.ts.isoformat(), "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": link or "", "fingerprint": alert.fingerprint}
    return {"version": "4", "groupKey": f"privacy-gateway:{alert.fingerprint}",
            "truncatedAlerts": 0, "status": "firing", "receiver": "privacy-gateway",
            "groupLabels": {"alertname": alert.rule}, "commonLabels": labels(alert),
            "commonAnnotations": annotations, "externalURL": link or "", "alerts": [item]}


def make(options: dict[str, Any], secret: str | None) -> WebhookSink:
    link = options.get("link")
    return WebhookSink(options["url"], lambda a, url: (url, encode(body(a, link)), {}),
                       name="alertmanager")
