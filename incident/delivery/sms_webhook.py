"""SMS through an SMS gateway's HTTP API: one JSON post per message."""

from __future__ import annotations

import os

from incident.delivery.base import Channel, DeliveryError, Message
from incident.delivery.webhook import post_json


class SmsWebhookChannel(Channel):
    """Posts {to, text, sign}; an API token may come from the variable in `token_env`."""

    type = "sms_webhook"
    contact = "phone"

    async def send(self, to: str, message: Message) -> None:
        url = self.spec.get("url")
        if not url:
            raise DeliveryError(f"{self.name}: no url configured")
        token = os.environ.get(self.spec.get("token_env") or "")
        headers = {"Authorization": f"Bearer {token}"} if token else None
        await post_json(self.name, url, {"to": to, "text": message.body,
                                         "sign": self.spec.get("sign", "")}, headers=headers)
