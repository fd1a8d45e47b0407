"""HTTP webhook transport shared by the JSON formats: retries with an idempotency key."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp

from gateway.alerts.model import Alert
from gateway.alerts.sinks.base import AlertSink, DeliveryError

# render(alert, url) -> (url to post to, body bytes, extra headers)
Render = Callable[[Alert, str], tuple[str, bytes, dict[str, str]]]


def encode(body: Any) -> bytes:
    """The JSON bytes sent (and signed, where a format signs them)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookSink(AlertSink):
    """POSTs the rendered alert; retries 5xx and network errors, never 4xx."""

    def __init__(self, url: str, render: Render, name: str = "webhook", attempts: int = 4,
                 backoff: float = 0.25, timeout: float = 5.0) -> None:
        self.url, self.render, self.name = url, render, name
        self.attempts, self.backoff = attempts, backoff
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, alert: Alert) -> None:
        url, data, headers = self.render(alert, self.url)
        headers = {"Content-Type": "application/json",
                   "Idempotency-Key": alert.idempotency_key, **headers}
        for attempt in range(self.attempts):
            status = await self._post(url, data, headers)
            if status is not None and status < 300:
                return
            if status is not None and 400 <= status < 500:
                raise DeliveryError(f"{self.name}: receiver refused the alert (HTTP {status})")
            if attempt + 1 < self.attempts:
                await asyncio.sleep(self.backoff * 2 ** attempt)
        raise DeliveryError(f"{self.name}: receiver unreachable after {self.attempts} attempts")

    async def _post(self, url: str, data: bytes, headers: dict[str, str]) -> int | None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(url, data=data, headers=headers) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
