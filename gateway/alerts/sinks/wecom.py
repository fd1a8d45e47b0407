"""WeCom (企业微信) group robot: markdown message."""

from __future__ import annotations

from typing import Any

from gateway.alerts.sinks.webhook import WebhookSink, encode
from gateway.alerts.text import headline, lines


def make(options: dict[str, Any], secret: str | None) -> WebhookSink:
    link = options.get("link")
    return WebhookSink(options["url"], lambda a, url: (url, encode({
        "msgtype": "markdown",
        "markdown": {"content": "\n".join([f"**{headline(a)}**", *lines(a, link)])}}), {}),
        name="wecom")
