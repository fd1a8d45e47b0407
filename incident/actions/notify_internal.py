"""notify.internal: legal, customer service and management hear of the incident."""

from __future__ import annotations

from incident.actions.staff import StaffNotify


class NotifyInternal(StaffNotify):
    type = "notify.internal"
    audience = "internal"
