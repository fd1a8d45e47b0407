"""DingTalk (钉钉) custom robot: markdown message, signed with the robot secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote_plus

from gateway.alerts.model import Alert
from gateway.alerts.sinks.webhook import WebhookSink, encode
from gateway.alerts.text import headline, lines


def signed_url(url: str, secret: str, millis: int) -> str:
    """The robot's signing scheme: HMAC-SHA256 of "timestamp\\nsecret", base64, in the URL."""
    mac = hmac.new(secret.encode(), f"{millis}\n{secret}".encode(), hashlib.sha256).digest()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={millis}&sign={quote_plus(base64.b64encode(mac).decode())}"


def make(options: dict[str, Any], secret: str | None) -> WebhookSink:
    link = options.get("link")

    def render(alert: Alert, url: str) -> tuple[str, bytes, dict[str, str]]:
        text = "\n\n".join([f"### {headline(alert)}", *lines(alert, link)])
        data = encode({"msgtype": "markdown",
                       "markdown": {"title": headline(alert), "text": text}})
        return (signed_url(url, secret, int(time.time() * 1000)) if secret else url), data, {}

    return WebhookSink(options["url"], render, name="dingtalk")
