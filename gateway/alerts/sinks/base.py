"""Base of alert sinks: one subclass per output format or transport."""

from __future__ import annotations

from abc import ABC, abstractmethod

from gateway.alerts.model import Alert


class DeliveryError(Exception):
    """A sink could not deliver an alert after its retries (message has no alert data)."""


class AlertSink(ABC):
    """Delivers alerts somewhere; `name` labels delivery metrics."""

    name: str = "sink"

    @abstractmethod
    async def send(self, alert: Alert) -> None:
        """Deliver one alert or raise DeliveryError."""

    async def close(self) -> None:
        """Release connections; default: nothing to release."""
        return None
