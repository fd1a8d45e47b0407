"""The gateway's tables in the privacy_gateway schema, as ordered migrations."""

from __future__ import annotations

from gateway.state.migrate import Migration

COMPONENT = "gateway"

_AUDIT = """
CREATE TABLE privacy_gateway.audit_log (
    replica          text NOT NULL,
    seq              bigint NOT NULL,
    chain            bigint NOT NULL,
    kind             text NOT NULL,
    ts               timestamptz NOT NULL,
    session_id       text,
    principal        text,
    purpose          text,
    client_addr      text,
    application_name text,
    fingerprint      text,
    statement        text,
    objects          jsonb,
    rows             bigint,
    subjects         bigint,
    decision         text,
    reason           text,
    duration_ms      double precision,
    sqlstate         text,
    prev_mac         bytea NOT NULL,
    mac              bytea NOT NULL,
    signature        bytea,
    PRIMARY KEY (replica, seq)
);
-- BRIN: rows arrive in time order, and a small index keeps every statement's insert cheap
CREATE INDEX audit_log_ts ON privacy_gateway.audit_log USING brin (ts);

CREATE FUNCTION privacy_gateway.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'privacy_gateway.%: rows are append-only', TG_TABLE_NAME
        USING ERRCODE = '42501';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON privacy_gateway.audit_log
    FOR EACH ROW EXECUTE FUNCTION privacy_gateway.refuse_change();
-- Spools already replayed, so a replay committed just before a crash is not repeated.
CREATE TABLE privacy_gateway.audit_spool_replays (
    spool_id    text PRIMARY KEY,
    replayed_at timestamptz NOT NULL DEFAULT now(),
    items       bigint NOT NULL
);
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON privacy_gateway.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION privacy_gateway.refuse_change();
"""

# One row per (statement, classified table); partitions are created per day on demand.
_EXPOSURE = """
CREATE TABLE privacy_gateway.exposure (
    ts             timestamptz NOT NULL,
    replica        text NOT NULL,
    audit_seq      bigint,
    session_id     text,
    principal      text,
    purpose        text,
    table_name     text NOT NULL,
    subjects       text[] NOT NULL DEFAULT '{}',
    clear_classes  text[] NOT NULL DEFAULT '{}',
    masked_classes text[] NOT NULL DEFAULT '{}',
    aggregate      boolean NOT NULL DEFAULT false,
    rows           bigint NOT NULL DEFAULT 0
) PARTITION BY RANGE (ts);
CREATE INDEX exposure_subjects ON privacy_gateway.exposure USING gin (subjects);
CREATE INDEX exposure_principal ON privacy_gateway.exposure (principal, purpose, ts);
"""

_ALERTS = """
CREATE TABLE privacy_gateway.alerts (
    id          bigserial PRIMARY KEY,
    ts          timestamptz NOT NULL DEFAULT now(),
    rule        text NOT NULL,
    severity    text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    principal   text,
    purpose     text,
    summary     text NOT NULL,
    details     jsonb NOT NULL DEFAULT '{}',
    fingerprint text NOT NULL,
    replica     text,
    shadow      boolean NOT NULL DEFAULT false,
    occurrences integer NOT NULL DEFAULT 1,
    last_seen   timestamptz NOT NULL DEFAULT now(),
    suppressed_by bigint
);
CREATE INDEX alerts_fingerprint ON privacy_gateway.alerts (fingerprint, ts);

CREATE TABLE privacy_gateway.alert_suppressions (
    id         bigserial PRIMARY KEY,
    rule       text NOT NULL,
    principal  text,
    purpose    text,
    owner      text NOT NULL,
    reason     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
"""

# Detector windows: each replica adds to its own row; readers sum across replicas.
_WINDOWS = """
CREATE TABLE privacy_gateway.detector_counts (
    rule         text NOT NULL,
    key          text NOT NULL,
    window_start timestamptz NOT NULL,
    replica      text NOT NULL,
    value        bigint NOT NULL,
    PRIMARY KEY (rule, key, window_start, replica)
);
"""

# EWMA of distinct subjects per hour for each principal x purpose x hour of week (UTC).
_BASELINE = """
CREATE TABLE privacy_gateway.detector_baseline (
    principal    text NOT NULL,
    purpose      text NOT NULL,
    how          smallint NOT NULL,
    hours        integer NOT NULL,
    mean         double precision NOT NULL,
    var          double precision NOT NULL,
    updated_hour timestamptz NOT NULL,
    PRIMARY KEY (principal, purpose, how)
);
"""

MIGRATIONS: tuple[Migration, ...] = (
    (1, "audit log", _AUDIT),
    (2, "exposure ledger", _EXPOSURE),
    (3, "alerts and suppressions", _ALERTS),
    (4, "detector windows", _WINDOWS),
    (5, "detector baselines", _BASELINE),
)
