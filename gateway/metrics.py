"""Prometheus metrics: one table of definitions, one registry served at /metrics.

Labels carry principal, purpose, table, decision and rule names only: never subject ids,
values or statement text.
"""

from __future__ import annotations

from bisect import bisect_left

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.metrics import MetricWrapperBase

disable_created_metrics()  # the _created series only double the scrape size
REGISTRY = CollectorRegistry(auto_describe=True)


class _BeforeScrape:
    """Registered first, so its collect() runs before any metric is read: it folds what
    was tallied on the hot path into the metrics (scrapes happen in the event loop)."""

    def __init__(self) -> None:
        self.hooks: list = []

    def collect(self) -> list:
        for hook in self.hooks:
            hook()
        return []

    def describe(self) -> list:
        return []


_BEFORE_SCRAPE = _BeforeScrape()
REGISTRY.register(_BEFORE_SCRAPE)

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


class StatementTally:
    """`statements` and `statement_seconds` by decision, added up in plain Python per
    statement and folded into the metrics before each scrape: a counter increment and a
    histogram observation take locks and cost several times more than this."""

    def __init__(self) -> None:
        self._bounds = metric("statement_seconds")._upper_bounds  # ends with +Inf
        self._pending: dict[str, list] = {}  # decision -> [count, seconds, per bucket]
        _BEFORE_SCRAPE.hooks.append(self.flush)

    def add(self, decision: str, seconds: float) -> None:
        tally = self._pending.get(decision)
        if tally is None:
            tally = self._pending[decision] = [0, 0.0, [0] * len(self._bounds)]
        tally[0] += 1
        tally[1] += seconds
        tally[2][bisect_left(self._bounds, seconds)] += 1  # as Histogram.observe picks

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for decision, (count, seconds, buckets) in pending.items():
            metric("statements").labels(decision).inc(count)
            latency = metric("statement_seconds").labels(decision)
            latency._sum.inc(seconds)  # prometheus_client has no bulk observe
            for bucket, n in zip(latency._buckets, buckets, strict=True):
                if n:
                    bucket.inc(n)


class CounterTally:
    """Counters sharing one label set, added up per label values and folded into the
    metrics before each scrape (for the same reason as StatementTally)."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self._pending: dict[tuple[str, ...], list[int]] = {}
        _BEFORE_SCRAPE.hooks.append(self.flush)

    def add(self, labels: tuple[str, ...], amounts: tuple[int, ...]) -> None:
        tally = self._pending.get(labels)
        if tally is None:
            self._pending[labels] = list(amounts)
        else:
            for i, amount in enumerate(amounts):
                tally[i] += amount

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for labels, amounts in pending.items():
            for name, amount in zip(self.names, amounts, strict=True):
                metric(name).labels(*labels).inc(amount)


STATEMENTS = StatementTally()
TABLE_READS = CounterTally("rows", "subjects", "masked_cells")  # by principal, purpose, table
