"""notify.security: the security team hears of the incident through the gateway's alert sinks
(Alertmanager, JSON, Slack, DingTalk, WeCom, syslog) and incident.yaml's `security` list."""

from __future__ import annotations

import os
from typing import Any

from incident import notifications
from incident.actions.base import ActionError, Context, Outcome, Skip
from incident.actions.staff import StaffNotify
from incident.report.notice import staff_message


class NotifySecurity(StaffNotify):
    type = "notify.security"
    audience = "security"

    async def run(self, ctx: Context, params: dict[str, Any]) -> Outcome:
        phase = params.get("phase", "initial")
        sinks_sent, sinks_failed = await _to_alert_sinks(ctx, phase)
        try:
            staff = await super().run(ctx, params)
        except Skip:
            if not (sinks_sent or sinks_failed):
                raise Skip("no alert sinks and no security recipients configured") from None
            staff = Outcome(summary="", after={"recipients": 0, "sent": 0})
        if sinks_failed:
            raise ActionError(f"{sinks_failed} alert sink(s) failed")
        return Outcome(summary=f"security notified: {sinks_sent} alert sink(s),"
                               f" {staff.after['recipients']} recipient(s)",
                       after={**staff.after, "alert_sinks": sinks_sent})


async def _to_alert_sinks(ctx: Context, phase: str) -> tuple[int, int]:
    """One critical alert per sink, carrying counts and the incident link."""
    if not ctx.settings.alert_sinks:
        return 0, 0
    from gateway.alerts.model import Alert
    from gateway.alerts.sinks import build
    from gateway.alerts.sinks.base import DeliveryError

    message = staff_message(ctx.incident, ctx.settings)
    alert = Alert(rule="incident", severity="critical", summary=message.subject,
                  principal=ctx.incident.principal, purpose=ctx.incident.purpose,
                  details={**(message.data or {}), "explanation": message.body},
                  group=ctx.incident.id)
    sent = failed = 0
    for i, sink in enumerate(build(ctx.settings.alert_sinks, os.environ.get)):
        recipient = f"alerts[{i}]"
        try:
            if await notifications.already_sent(ctx.conn, ctx.incident.id, "security",
                                                "alert_sink", recipient, phase):
                continue
            await sink.send(alert)
            status = "sent"
        except DeliveryError:
            status = "failed"
        finally:
            await sink.close()
        await notifications.record(ctx.conn, ctx.incident.id, "security", "alert_sink",
                                   recipient, phase, status, message.body)
        sent += status == "sent"
        failed += status == "failed"
    return sent, failed
