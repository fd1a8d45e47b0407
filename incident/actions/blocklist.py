"""Shared shape of the two block-list containments: add an entry, undo removes only ours."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from incident.actions.base import Action, Context, Outcome, param


class BlockListAction(Action):
    """Adds a principal or purpose to the gateway block list on every replica."""

    reversible = True
    field: ClassVar[str]          # step parameter and incident attribute: principal | purpose
    table: ClassVar[str]          # the block-list table it writes
    add: ClassVar[Callable[..., Awaitable[bool]]]
    remove: ClassVar[Callable[..., Awaitable[bool]]]

    async def run(self, ctx: Context, params: dict[str, Any]) -> Outcome:
        name = param(ctx, params, self.field, self.field)
        reason = params.get("reason") or f"incident {ctx.incident.id}"
        was = await self._present(ctx, name)
        added = await type(self).add(ctx.conn, name, reason, incident_id=ctx.incident.id,
                                     by=ctx.actor)
        # Undo removes the entry only if this step created it; an earlier block stays.
        return Outcome(summary=f"{self.field} {name} {'added to' if added else 'already on'}"
                               " the block list",
                       before={self.field: name, "listed": was},
                       after={self.field: name, "listed": True},
                       undo={self.field: name, "created": added})

    async def undo(self, ctx: Context, params: dict[str, Any], data: dict[str, Any]) -> Outcome:
        name = data[self.field]
        if data.get("created"):
            await type(self).remove(ctx.conn, name)
        listed = await self._present(ctx, name)
        return Outcome(summary=f"{self.field} {name} "
                               + ("removed from the block list" if not listed
                                  else "left on the block list (listed before this incident)"),
                       before={self.field: name, "listed": True},
                       after={self.field: name, "listed": listed})

    async def _present(self, ctx: Context, name: str) -> bool:
        return bool(await ctx.conn.fetchval(
            f"SELECT true FROM privacy_gateway.{self.table} WHERE {self.field} = $1", name))


