"""HTTP webhooks: JSON posts to a URL (chat-ops, ticketing, SMS gateways)."""

from __future__ import annotations

from typing import Any

import aiohttp

from incident.delivery.base import Channel, DeliveryError, Message


async def post_json(name: str, url: str, payload: Any, timeout: float = 10.0,
                    headers: dict[str, str] | None = None) -> None:
    """POST `payload` as JSON; DeliveryError unless the answer is 2xx."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http, \
                http.post(url, json=payload, headers=headers) as response:
            if response.status // 100 != 2:
                raise DeliveryError(f"{name}: HTTP {response.status}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DeliveryError(f"{name}: HTTP delivery failed ({type(exc).__name__})") from None


class WebhookChannel(Channel):
    """Posts {subject, text, data}; `to` is ignored when the spec names a URL."""

    type = "webhook"

    async def send(self, to: str, message: Message) -> None:
        url = self.spec.get("url") or to
        if not url:
            raise DeliveryError(f"{self.name}: no url")
        await post_json(self.name, url, {"subject": message.subject, "text": message.body,
                                         "data": message.data or {}})
