"""Prometheus metrics: one table of definitions, one registry served at /metrics.

Labels carry principal, purpose, table, decision and rule names only: never subject ids,
values or statement text.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.metrics import MetricWrapperBase

disable_created_metrics()  # the _created series only double the scrape size
REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                    10, 30)

# name: (type, help, labels). Names get the prefix pgw_.
DEFINITIONS: dict[str, tuple[type[MetricWrapperBase], str, tuple[str, ...]]] = {
    "statements": (Counter, "statements by decision", ("decision",)),
    "statement_seconds": (Histogram, "statement latency through the gateway", ("decision",)),
    "rows": (Counter, "rows returned from classified tables", ("principal", "purpose", "table")),
    "subjects": (Counter, "distinct subjects per statement, summed",
                 ("principal", "purpose", "table")),
    "masked_cells": (Counter, "cells returned masked", ("principal", "purpose", "table")),
    "rewrite_misses": (Counter, "statements refused because they could not be verified",
                       ("reason",)),
    "sessions": (Gauge, "client sessions open", ()),
    "auth_failures": (Counter, "failed logins", ("reason",)),
    "upstream_errors": (Counter, "errors reaching or talking to upstream", ("kind",)),
    "canary_hits": (Counter, "canary (honeytoken) subjects returned", ("table",)),
    "alerts": (Counter, "alerts raised", ("rule", "severity")),
    "alert_deliveries": (Counter, "alert deliveries to sinks", ("sink", "outcome")),
    "audit_records": (Counter, "audit records persisted", ("target",)),
    "audit_queue_depth": (Gauge, "audit and ledger items waiting for the writer", ()),
    "audit_spool_bytes": (Gauge, "size of the local audit spool file", ()),
    "audit_write_errors": (Counter, "failed writes to the state database", ()),
    "rules_reloads": (Counter, "rules reloads by outcome (a failed one keeps the old rules)",
                      ("outcome",)),
}


def _build() -> dict[str, MetricWrapperBase]:
    made = {}
    for name, (kind, help_text, labels) in DEFINITIONS.items():
        extra = {"buckets": _LATENCY_BUCKETS} if kind is Histogram else {}
        made[name] = kind(f"pgw_{name}", help_text, labels, registry=REGISTRY, **extra)
    return made


METRICS = _build()


def metric(name: str) -> MetricWrapperBase:
    """The metric defined as `name` in DEFINITIONS."""
    return METRICS[name]
