"""Metrics tallied on the hot path read the same at a scrape as if observed one by one."""

from __future__ import annotations

from gateway.metrics import REGISTRY, STATEMENTS, TABLE_READS, metric

DURATIONS = (0.0001, 0.0005, 0.0007, 0.001, 0.03, 7.0, 99.0)


def _samples(decision: str) -> dict[str, float]:
    return {f"{s.name}{s.labels.get('le', '')}": s.value
            for family in REGISTRY.collect() if family.name in ("pgw_statements",
                                                                 "pgw_statement_seconds")
            for s in family.samples if s.labels.get("decision") == decision}


def test_statement_tally_matches_observing_each_statement():
    for seconds in DURATIONS:
        STATEMENTS.add("tally_test", seconds)
        metric("statements").labels("tally_reference").inc()
        metric("statement_seconds").labels("tally_reference").observe(seconds)
    tallied, observed = _samples("tally_test"), _samples("tally_reference")
    assert tallied == observed and tallied["pgw_statements_total"] == len(DURATIONS)
    assert _samples("tally_test") == observed  # folded once, not again


def test_counter_tally_adds_up_per_label_values():
    labels = ("tally_principal", "tally_purpose", "public.t")
    TABLE_READS.add(labels, (3, 1, 2))
    TABLE_READS.add(labels, (4, 2, 0))
    assert REGISTRY.get_sample_value("pgw_rows_total", dict(zip(
        ("principal", "purpose", "table"), labels, strict=True))) == 7
    assert REGISTRY.get_sample_value("pgw_masked_cells_total", dict(zip(
        ("principal", "purpose", "table"), labels, strict=True))) == 2
