"""The record of every notification: drafted, previewed or sent, and never sent twice."""

from __future__ import annotations

import hashlib

import asyncpg


async def already_sent(conn: asyncpg.Connection, incident_id: str, kind: str, channel: str,
                       recipient: str, phase: str) -> bool:
    return bool(await conn.fetchval(
        "SELECT true FROM privacy_gateway.incident_notifications WHERE incident_id = $1"
        " AND kind = $2 AND channel = $3 AND recipient = $4 AND phase = $5 AND status = 'sent'",
        incident_id, kind, channel, recipient, phase))


async def record(conn: asyncpg.Connection, incident_id: str, kind: str, channel: str,
                 recipient: str, phase: str, status: str, content: str | None = None) -> None:
    """Upsert one notification's state; a 'sent' record is never overwritten."""
    digest = hashlib.sha256(content.encode()).hexdigest() if content is not None else None
    await conn.execute(
        "INSERT INTO privacy_gateway.incident_notifications (incident_id, kind, channel,"
        " recipient, phase, status, content_sha256) VALUES ($1,$2,$3,$4,$5,$6,$7)"
        " ON CONFLICT (incident_id, kind, channel, recipient, phase) DO UPDATE"
        " SET status = EXCLUDED.status, content_sha256 = EXCLUDED.content_sha256, ts = now()"
        " WHERE incident_notifications.status <> 'sent'",
        incident_id, kind, channel, recipient, phase, status, digest)


async def summary(conn: asyncpg.Connection, incident_id: str) -> list[dict]:
    """Counts by kind, channel, phase and status."""
    rows = await conn.fetch(
        "SELECT kind, channel, phase, status, count(*) AS n FROM"
        " privacy_gateway.incident_notifications WHERE incident_id = $1"
        " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4", incident_id)
    return [dict(r) for r in rows]
