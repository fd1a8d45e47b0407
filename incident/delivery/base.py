"""Base class of delivery channels: one way to get a message to a person or a system."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


class DeliveryError(Exception):
    """A message could not be delivered (message names the channel, never the recipient)."""


@dataclass(frozen=True)
class Message:
    """What to send: a subject line, a plain-text body and optional structured data."""

    subject: str
    body: str
    data: dict[str, Any] | None = None


class Channel:
    """Sends one message to one address (an e-mail address, a phone number, a URL)."""

    type: ClassVar[str]
    # Which contact field of a customer this channel needs: email | phone | None.
    contact: ClassVar[str | None] = None

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        self.name = name
        self.spec = spec

    async def send(self, to: str, message: Message) -> None:
        raise NotImplementedError
