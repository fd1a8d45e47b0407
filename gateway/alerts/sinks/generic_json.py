"""Generic JSON webhook with an HMAC-SHA256 signature over timestamp and body."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from gateway.alerts.model import Alert
from gateway.alerts.sinks.webhook import WebhookSink, encode

SIGNATURE_HEADER = "X-Privacy-Gateway-Signature"
TIMESTAMP_HEADER = "X-Privacy-Gateway-Timestamp"


def body(alert: Alert, link: str | None = None) -> dict[str, Any]:
    return {"id": alert.id, "fingerprint": alert.fingerprint, "rule": alert.rule,
            "severity": alert.severity, "summary": alert.summary,
            "principal": alert.principal, "purpose": alert.purpose,
            "details": alert.details, "shadow": alert.shadow, "replica": alert.replica,
            "occurrences": alert.occurrences, "ts": alert.ts.isoformat(), "link": link}


def sign(secret: str, timestamp: str, data: bytes) -> str:
    """sha256=<hex> of HMAC(secret, timestamp + "." + body); receivers recompute it."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + data, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def make(options: dict[str, Any], secret: str | None) -> WebhookSink:
    link = options.get("link")

    def render(alert: Alert, url: str) -> tuple[str, bytes, dict[str, str]]:
        data = encode(body(alert, link))
        if not secret:
            return url, data, {}
        stamp = str(int(time.time()))
        return url, data, {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(secret, stamp, data)}

    return WebhookSink(options["url"], render, name="json")
