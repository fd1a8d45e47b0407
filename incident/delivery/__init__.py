"""Delivery channels by type; `channel(name, spec)` builds one from settings."""

from __future__ import annotations

from typing import Any

from incident.delivery.base import Channel, DeliveryError, Message
from incident.delivery.sms_webhook import SmsWebhookChannel
from incident.delivery.smtp import SmtpChannel
from incident.delivery.webhook import WebhookChannel

TYPES: dict[str, type[Channel]] = {c.type: c for c in (SmtpChannel, SmsWebhookChannel,
                                                       WebhookChannel)}

__all__ = ["Channel", "DeliveryError", "Message", "TYPES", "channel"]


def channel(name: str, spec: dict[str, Any]) -> Channel:
    """The channel `spec` describes; DeliveryError for an unknown type."""
    kind = (spec or {}).get("type")
    if kind not in TYPES:
        raise DeliveryError(f"channel {name}: unknown type {kind!r}")
    return TYPES[kind](name, spec)
