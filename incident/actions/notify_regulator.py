"""notify.regulator: the authority report draft (Markdown and JSON, in Chinese)."""

from __future__ import annotations

import json
from typing import Any

from incident import notifications
from incident.actions.base import Action, Context, Outcome
from incident.report import markdown, regulator


class NotifyRegulator(Action):
    """Writes the draft for the commander to file; filing is recorded with `incident notify`."""

    type = "notify.regulator"

    async def run(self, ctx: Context, params: dict[str, Any]) -> Outcome:
        phase = params.get("phase", "initial")
        now = await ctx.conn.fetchval("SELECT now()")
        report = regulator.build(await regulator.collect(ctx.conn, ctx.incident.id),
                                 ctx.settings, phase, now)
        paths = write(ctx, report, phase)
        await notifications.record(ctx.conn, ctx.incident.id, "regulator", "draft", "authority",
                                   phase, "draft", paths["json"].read_text(encoding="utf-8"))
        gaps = regulator.missing(report)
        summary = f"{regulator.PHASE_NAMES[phase]} drafted"
        summary += f"; to complete: {', '.join(gaps)}" if gaps else "; every field filled"
        return Outcome(summary=summary, after={"markdown": str(paths["md"]),
                                               "json": str(paths["json"]), "missing": gaps})


def write(ctx: Context, report: dict[str, Any], phase: str) -> dict[str, Any]:
    """Save the report beside the incident's evidence; returns the two paths."""
    md = ctx.folder / f"report-{phase}.md"
    js = ctx.folder / f"report-{phase}.json"
    md.write_text(markdown.render(report), encoding="utf-8")
    js.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return {"md": md, "json": js}
