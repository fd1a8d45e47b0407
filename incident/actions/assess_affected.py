"""assess.affected: exact affected customers from the exposure ledger; regrades the incident."""

from __future__ import annotations

from typing import Any

from incident import affected, grading, rulesinfo, service, store
from incident.actions.base import Action, ActionError, Context, Outcome

CSV_NAME = "affected.csv"


class AssessAffected(Action):
    """Counts go to the incident's facts and timeline; subject ids only to the CSV."""

    type = "assess.affected"

    async def run(self, ctx: Context, params: dict[str, Any]) -> Outcome:
        try:
            info = rulesinfo.load(ctx.settings.rules_path)
        except rulesinfo.RulesUnavailable as exc:
            raise ActionError(str(exc)) from None
        now = await ctx.conn.fetchval("SELECT now()")
        scope = affected.scope_for(ctx.incident, ctx.settings["intake"]["lookback"], now)
        result = await affected.assess(ctx.conn, scope, set(info.canaries), set(info.sensitive))
        path = ctx.folder / CSV_NAME
        await affected.export_csv(ctx.conn, scope, set(info.canaries), path)
        before = dict(ctx.incident.facts.get("assessment") or {})
        facts = {"assessment": result.to_dict(), "affected_csv": str(path),
                 "scope": {"principal": scope.principal, "purpose": scope.purpose,
                           "since": scope.since.isoformat(), "until": scope.until.isoformat()}}
        await store.merge_facts(ctx.conn, ctx.incident.id, facts)
        # graded on the most it may be: rows without known customers count as customers
        grade = grading.compute_grade(result.at_most, result.sensitive,
                                      ctx.settings["grading"])
        await service.set_grade(ctx.conn, ctx.settings, ctx.incident.id, None, ctx.actor,
                                computed=grade)
        unattributed = (f", {result.unattributed_rows} row(s) of"
                        f" {result.unattributed_statements} statement(s) not attributable to"
                        " customers" if result.unattributed_rows else "")
        return Outcome(summary=f"{result.subjects} customer(s) affected"
                               f" ({result.subjects_clear} in clear), {result.records} record(s)"
                               f"{unattributed}, grade {grade}",
                       before={"subjects": before.get("subjects")},
                       after={"subjects": result.subjects, "records": result.records,
                              "grade": grade, "sensitive": result.sensitive})
