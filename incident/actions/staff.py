"""Shared shape of notifications to staff: counts and a link to every configured recipient."""

from __future__ import annotations

from typing import Any, ClassVar

from incident import notifications
from incident.actions.base import Action, ActionError, Context, Outcome, Skip
from incident.delivery import DeliveryError, channel
from incident.report.notice import staff_message


class StaffNotify(Action):
    """Sends the staff message once per recipient; a failed recipient is retried on resume."""

    audience: ClassVar[str]     # settings key listing {channel, to} recipients

    def recipients(self, ctx: Context) -> list[tuple[str, dict[str, Any], str]]:
        """(channel name, channel spec, address) for each recipient in settings."""
        specs = ctx.settings["channels"]
        result = []
        for item in ctx.settings[self.audience] or []:
            name = item.get("channel")
            if name not in specs:
                raise ActionError(f"{self.audience}: unknown channel {name!r}")
            result.append((name, specs[name], str(item.get("to") or "")))
        return result

    async def run(self, ctx: Context, params: dict[str, Any]) -> Outcome:
        targets = self.recipients(ctx)
        if not targets:
            raise Skip(f"no {self.audience} recipients configured")
        phase = params.get("phase", "initial")
        message = staff_message(ctx.incident, ctx.settings)
        sent, failed = 0, []
        for name, spec, address in targets:
            recipient = f"{name}:{address}"
            if await notifications.already_sent(ctx.conn, ctx.incident.id, self.audience, name,
                                                recipient, phase):
                continue
            try:
                await channel(name, spec).send(address, message)
            except DeliveryError as exc:
                failed.append(str(exc))
                await notifications.record(ctx.conn, ctx.incident.id, self.audience, name,
                                           recipient, phase, "failed", message.body)
                continue
            await notifications.record(ctx.conn, ctx.incident.id, self.audience, name,
                                       recipient, phase, "sent", message.body)
            sent += 1
        if failed:
            raise ActionError(f"{len(failed)} of {len(targets)} deliveries failed: {failed[0]}")
        return Outcome(summary=f"{self.audience} notified ({sent} sent now,"
                               f" {len(targets) - sent} earlier)",
                       after={"recipients": len(targets), "sent": sent})
