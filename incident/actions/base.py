"""Base class of playbook actions, the context they run in, and what they return."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import asyncpg

from gateway.state.connect import as_url
from incident.models import Incident
from incident.settings import Settings


class Skip(Exception):
    """The step does not apply to this incident; the reason goes on the timeline."""


class ActionError(Exception):
    """The step failed; the message (no personal data) goes on the timeline."""


@dataclass
class Context:
    """What an action may use: the state database, settings, the incident and its step."""

    conn: asyncpg.Connection
    settings: Settings
    incident: Incident
    step_id: str
    actor: str | None = None
    _upstream: asyncpg.Connection | None = field(default=None, repr=False)

    @property
    def folder(self) -> Path:
        """This incident's working folder (evidence, reports, notice previews)."""
        path = self.settings.workdir / self.incident.id
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def upstream(self, dsn: str | None = None) -> asyncpg.Connection:
        """A connection to the customer database (or `dsn`), opened on first use."""
        if self._upstream is None:
            dsn = dsn or self.settings.upstream_dsn
            if not dsn:
                raise ActionError("no upstream database configured")
            self._upstream = await asyncpg.connect(as_url(dsn), timeout=10,
                                                   password=self.settings.upstream_password)
        return self._upstream

    async def close(self) -> None:
        if self._upstream is not None:
            await self._upstream.close()
            self._upstream = None


@dataclass
class Outcome:
    """Result of a run or an undo: state before and after, and what undo will need."""

    summary: str
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    undo: dict[str, Any] | None = None


class Action:
    """One step type. `run` must be idempotent: running it again changes nothing more."""

    type: ClassVar[str]
    reversible: ClassVar[bool] = False

    async def run(self, ctx: Context, params: dict[str, Any]) -> Outcome:
        raise NotImplementedError

    async def undo(self, ctx: Context, params: dict[str, Any], data: dict[str, Any]) -> Outcome:
        """Exactly reverse what `run` changed, using the `undo` data it returned."""
        raise ActionError(f"{self.type} cannot be undone")


def param(ctx: Context, params: dict[str, Any], name: str, default_attr: str | None = None) -> Any:
    """A step parameter, falling back to the incident's attribute; Skip when neither is set."""
    value = params.get(name)
    if value is None and default_attr:
        value = getattr(ctx.incident, default_attr)
    if value in (None, ""):
        raise Skip(f"no {name} for this incident")
    return value
