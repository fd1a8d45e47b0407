"""Alert suppressions: who silenced which rule, why, until when; each one audited."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from gateway.audit.record import SUPPRESSION, AuditRecord


async def add_suppression(conn: asyncpg.Connection, submit, rule: str, owner: str,
                          reason: str, expires_at: datetime, principal: str | None = None,
                          purpose: str | None = None) -> int:
    """Store a suppression and submit its audit record; returns the suppression id.

    `submit` is the audit writer's submit (a suppression hides alerts, so who did it and
    why belongs in the tamper-evident log).
    """
    if not owner or not reason:
        raise ValueError("a suppression needs an owner and a reason")
    suppression_id = await conn.fetchval(
        "INSERT INTO privacy_gateway.alert_suppressions"
        " (rule, principal, purpose, owner, reason, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        rule, principal, purpose, owner, reason, expires_at)
    submit(AuditRecord(kind=SUPPRESSION, principal=principal, purpose=purpose,
                       decision="suppress", reason=f"#{suppression_id} {rule} by {owner}"
                       f" until {expires_at.isoformat()}: {reason}"))
    return suppression_id
