"""notify.customers: one notice per affected customer; dry-run (preview files) by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from incident import affected, notifications
from incident.actions.base import Action, ActionError, Context, Outcome
from incident.delivery import Channel, DeliveryError, channel
from incident.report.notice import customer_notice

CHUNK = 1000


class NotifyCustomers(Action):
    """Sends (or previews) each notice once; every send is recorded before the next."""

    type = "notify.customers"

    async def run(self, ctx: Context, params: dict[str, Any]) -> Outcome:
        # A drill never writes to real customers, whatever the playbook says.
        dry_run = params.get("dry_run", True) is not False or ctx.incident.drill
        phase = params.get("phase", "initial")
        involved = _involved(ctx)
        subjects = list(involved)
        channels = [channel(n, ctx.settings["channels"][n])
                    for n in params.get("channels", ["email", "sms"])
                    if n in ctx.settings["channels"]]
        if not channels:
            raise ActionError("no customer notification channel configured")
        measures = await _measures(ctx)
        counts = {"previewed": 0, "sent": 0, "earlier": 0, "unreachable": 0, "failed": 0}
        db = await _customers_db(ctx)
        for start in range(0, len(subjects), CHUNK):
            chunk = subjects[start:start + CHUNK]
            contacts = await _contacts(ctx, db, chunk)
            for subject in chunk:
                outcome = await _one(ctx, subject, contacts.get(subject), involved[subject],
                                     channels, measures, phase, dry_run)
                counts[outcome] += 1
        if counts["failed"]:
            raise ActionError(f"{counts['failed']} notice(s) could not be delivered;"
                              " resume to retry them")
        mode = "dry run" if dry_run else "sent"
        return Outcome(summary=f"{len(subjects)} customer notice(s), {mode}: "
                               + ", ".join(f"{k} {v}" for k, v in counts.items() if v),
                       after={"customers": len(subjects), "dry_run": dry_run, **counts,
                              **({"previews": str(ctx.folder / 'notices')} if dry_run else {})})


async def _one(ctx: Context, subject: str, contact: dict[str, Any] | None,
               classes: dict[str, list[str]], channels: list[Channel], measures: list[str],
               phase: str, dry_run: bool) -> str:
    reachable = [(c, contact[c.contact]) for c in channels
                 if contact and c.contact and contact.get(c.contact)]
    if not reachable:
        return "unreachable"  # counted for a public notice; reported, never guessed
    chan, address = reachable[0]
    if await notifications.already_sent(ctx.conn, ctx.incident.id, "customer", chan.name,
                                        subject, phase):
        return "earlier"
    message = customer_notice(ctx.incident, contact, classes, ctx.settings, measures,
                              short=chan.contact == "phone")
    if dry_run:
        _preview(ctx.folder / "notices", subject, chan.name, address, message.subject,
                 message.body)
        await notifications.record(ctx.conn, ctx.incident.id, "customer", chan.name, subject,
                                   phase, "dry_run", message.body)
        return "previewed"
    try:
        await chan.send(address, message)
    except DeliveryError:
        await notifications.record(ctx.conn, ctx.incident.id, "customer", chan.name, subject,
                                   phase, "failed", message.body)
        return "failed"
    await notifications.record(ctx.conn, ctx.incident.id, "customer", chan.name, subject,
                               phase, "sent", message.body)
    return "sent"


def _involved(ctx: Context) -> dict[str, dict[str, list[str]]]:
    path = ctx.incident.facts.get("affected_csv")
    if not path or not Path(path).exists():
        raise ActionError("affected customers not assessed yet (run assess.affected first)")
    return affected.read_rows(Path(path))


async def _customers_db(ctx: Context) -> asyncpg.Connection:
    return await ctx.upstream(ctx.settings["customers"].get("dsn"))


async def _contacts(ctx: Context, db: asyncpg.Connection,
                    subjects: list[str]) -> dict[str, dict[str, Any]]:
    rows = await db.fetch(ctx.settings["customers"]["query"], subjects)
    return {str(r["subject"]): dict(r) for r in rows}


async def _measures(ctx: Context) -> list[str]:
    rows = await ctx.conn.fetch(
        "SELECT finished_at, type FROM privacy_gateway.incident_steps WHERE incident_id = $1"
        " AND status = 'done' AND type LIKE 'contain.%' ORDER BY finished_at", ctx.incident.id)
    texts = {"contain.block_principal": "暂停了相关账号的访问", "contain.freeze_purpose":
             "冻结了相关用途的数据访问", "contain.terminate_upstream": "中断了相关数据库会话",
             "contain.revoke_role": "收回了相关数据库账号的权限"}
    return [f"{r['finished_at']:%Y-%m-%d %H:%M} {texts[r['type']]}" for r in rows
            if r["type"] in texts]


def _preview(folder: Path, subject: str, chan: str, address: str, subject_line: str,
             body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in subject)
    (folder / f"{safe}.txt").write_text(f"渠道: {chan}\n收件: {address}\n主题: {subject_line}\n\n"
                                        f"{body}", encoding="utf-8")
