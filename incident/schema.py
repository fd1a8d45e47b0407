"""Idempotent migration of the incident tables in the state database."""

from __future__ import annotations

import asyncpg

from gateway import blocks

# Serialised with an advisory lock so two processes starting together do not race.
_LOCK_KEY = 0x1C1DE17

_DDL = """
CREATE SCHEMA IF NOT EXISTS privacy_gateway;
CREATE SEQUENCE IF NOT EXISTS privacy_gateway.incident_seq;
CREATE TABLE IF NOT EXISTS privacy_gateway.incidents (
    id             text PRIMARY KEY,
    title          text NOT NULL,
    status         text NOT NULL DEFAULT 'active',
    severity       text NOT NULL,
    grade          text NOT NULL,
    grade_override text,
    grade_reason   text,
    category       text NOT NULL,
    commander      text,
    roles          jsonb NOT NULL DEFAULT '{}',
    discovered_at  timestamptz NOT NULL DEFAULT now(),
    discovered_by  text,
    aware_at       timestamptz,
    eu_subjects    boolean NOT NULL DEFAULT false,
    principal      text,
    purpose        text,
    playbook       text,
    resolution     text,
    merged_into    text REFERENCES privacy_gateway.incidents(id),
    drill          boolean NOT NULL DEFAULT false,
    facts          jsonb NOT NULL DEFAULT '{}',
    closed_at      timestamptz
);
CREATE TABLE IF NOT EXISTS privacy_gateway.incident_cases (
    id          bigserial PRIMARY KEY,
    principal   text,
    purpose     text,
    status      text NOT NULL DEFAULT 'open',
    opened_at   timestamptz NOT NULL DEFAULT now(),
    last_at     timestamptz NOT NULL DEFAULT now(),
    incident_id text REFERENCES privacy_gateway.incidents(id)
);
CREATE TABLE IF NOT EXISTS privacy_gateway.incident_signals (
    alert_id    bigint PRIMARY KEY,
    ts          timestamptz NOT NULL,
    rule        text NOT NULL,
    severity    text NOT NULL,
    principal   text,
    purpose     text,
    fingerprint text,
    case_id     bigint REFERENCES privacy_gateway.incident_cases(id),
    incident_id text REFERENCES privacy_gateway.incidents(id)
);
CREATE TABLE IF NOT EXISTS privacy_gateway.incident_timeline (
    id          bigserial PRIMARY KEY,
    incident_id text NOT NULL REFERENCES privacy_gateway.incidents(id),
    ts          timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind        text NOT NULL,
    actor       text,
    summary     text NOT NULL,
    details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS incident_timeline_incident
    ON privacy_gateway.incident_timeline (incident_id, id);
CREATE TABLE IF NOT EXISTS privacy_gateway.incident_tasks (
    id          bigserial PRIMARY KEY,
    incident_id text NOT NULL REFERENCES privacy_gateway.incidents(id),
    title       text NOT NULL,
    kind        text NOT NULL DEFAULT 'general',
    owner       text,
    due_at      timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    done_at     timestamptz,
    UNIQUE (incident_id, kind, title)
);
CREATE TABLE IF NOT EXISTS privacy_gateway.incident_steps (
    incident_id text NOT NULL REFERENCES privacy_gateway.incidents(id),
    step_id     text NOT NULL,
    position    int NOT NULL,
    playbook    text NOT NULL,
    type        text NOT NULL,
    params      jsonb NOT NULL DEFAULT '{}',
    status      text NOT NULL DEFAULT 'pending',
    approved_by text,
    started_at  timestamptz,
    finished_at timestamptz,
    before      jsonb,
    after       jsonb,
    undo        jsonb,
    error       text,
    PRIMARY KEY (incident_id, step_id)
);
CREATE TABLE IF NOT EXISTS privacy_gateway.incident_notifications (
    id          bigserial PRIMARY KEY,
    incident_id text NOT NULL REFERENCES privacy_gateway.incidents(id),
    kind        text NOT NULL,
    channel     text NOT NULL,
    recipient   text NOT NULL,
    phase       text NOT NULL DEFAULT 'initial',
    status      text NOT NULL,
    content_sha256 text,
    ts          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (incident_id, kind, channel, recipient, phase)
);
CREATE TABLE IF NOT EXISTS privacy_gateway.incident_drills (
    id          bigserial PRIMARY KEY,
    incident_id text REFERENCES privacy_gateway.incidents(id),
    playbook    text NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    ok          boolean,
    leak_to_containment_ms double precision,
    timings     jsonb NOT NULL DEFAULT '{}'
);
"""


async def migrate(conn: asyncpg.Connection) -> None:
    """Create the incident and block tables when missing (safe to run any number of times)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await blocks.migrate(conn)
        await conn.execute(_DDL)
