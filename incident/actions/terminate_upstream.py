"""contain.terminate_upstream: end every upstream session of a database role."""

from __future__ import annotations

from typing import Any

from incident.actions.base import Action, Context, Outcome, param

_COUNT = "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()"
_TERMINATE = ("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
              " WHERE usename = $1 AND pid <> pg_backend_pid()")


class TerminateUpstream(Action):
    """Not reversible: ended sessions cannot be restored (release records that)."""

    type = "contain.terminate_upstream"

    async def run(self, ctx: Context, params: dict[str, Any]) -> Outcome:
        role = param(ctx, params, "role")
        upstream = await ctx.upstream()
        before = await upstream.fetchval(_COUNT, role)
        ended = await upstream.fetchval(_TERMINATE, role)
        after = await upstream.fetchval(_COUNT, role)
        return Outcome(summary=f"{ended} upstream session(s) of role {role} terminated",
                       before={"role": role, "sessions": before},
                       after={"role": role, "sessions": after, "terminated": ended})
