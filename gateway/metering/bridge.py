"""From the policy's decision to audit objects and metering TableUse (pure helpers).

The session holds a policy Decision (its `columns`: table, column, class_name, treatment)
and, after the result, the row count and the subject ids it stripped from the trailing
subject columns. These helpers turn that into AuditRecord.objects and TableUse rows so
the session does not repeat the mapping. `rules_inputs` does the same for the rules
file (limits, canaries, the `detection:` section).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from gateway.audit.record import objects_text
from gateway.metering.detection import DetectionConfig, load_detection
from gateway.metering.usage import TableUse

CLEAR, MASKED = frozenset({"show"}), frozenset({"mask"})  # hide returns NULL: neither


def objects(columns: Iterable[Any]) -> list[dict[str, Any]]:
    """AuditRecord.objects: [{"table": t, "columns": {column: treatment}}] in table order."""
    tables: dict[str, dict[str, str]] = {}
    for c in columns:
        tables.setdefault(c.table, {})[c.column] = c.treatment
    return [{"table": t, "columns": cols} for t, cols in tables.items()]


@lru_cache(maxsize=4096)
def objects_json(columns: tuple[Any, ...]) -> str:
    """objects() as JSON text, cached per decision's columns (the cheap form to audit)."""
    return objects_text(objects(columns))


def classes(columns: Iterable[Any]) -> dict[str, tuple[list[str], list[str], int]]:
    """table -> (classes in clear, classes masked, number of masked columns)."""
    out: dict[str, tuple[set[str], set[str], set[str]]] = {}
    for c in columns:
        clear, masked, masked_cols = out.setdefault(c.table, (set(), set(), set()))
        if c.treatment in CLEAR:
            clear.add(c.class_name)
        elif c.treatment in MASKED:
            masked.add(c.class_name)
            masked_cols.add(c.column)
    return {t: (sorted(a), sorted(b), len(m)) for t, (a, b, m) in out.items()}


def table_uses(columns: Iterable[Any], exposure: str, rows: int,
               subjects: Mapping[str, Iterable[str]] | None = None,
               canary_hits: Mapping[str, int] | None = None) -> list[TableUse]:
    """TableUse per classified table of one statement's result.

    `exposure` is the decision's ("rows", "aggregate", "unknown", "none"); `subjects`
    maps table -> subject ids seen in the stripped subject columns. Masked cells are
    estimated as rows x masked columns of the table.
    """
    if exposure == "none":
        return []
    return uses_from(classes(columns), exposure, rows, subjects, canary_hits)


def uses_from(per_table: Mapping[str, tuple[list[str], list[str], int]], exposure: str,
              rows: int, subjects: Mapping[str, Iterable[str]] | None = None,
              canary_hits: Mapping[str, int] | None = None) -> list[TableUse]:
    """table_uses() from classes(columns) worked out before (once per decision)."""
    subjects, canary_hits = subjects or {}, canary_hits or {}
    if any(table not in per_table for table in subjects):
        per_table = {**per_table, **{t: ([], [], 0) for t in subjects if t not in per_table}}
    aggregate = exposure == "aggregate"
    return [TableUse(table, rows=rows, subjects=list(subjects.get(table, ())),
                     clear_classes=clear, masked_classes=masked,
                     masked_cells=rows * masked_cols, aggregate=aggregate,
                     canary_hits=canary_hits.get(table, 0))
            for table, (clear, masked, masked_cols) in per_table.items()]


def rules_inputs(rules: Any) -> tuple[DetectionConfig, dict[str, dict[str, int]],
                                      dict[str, frozenset[str]]]:
    """(detection, limits, canaries) for Metering from a loaded policy Rules object.

    limits: purpose -> {"rows_per_query": n, "subjects_per_hour": n} (set ones only);
    canaries: table -> canary subject ids as text. A bad `detection:` raises ValueError.
    """
    limits = {}
    for name, purpose in rules.purposes.items():
        set_limits = {k: v for k, v in (("rows_per_query", purpose.limits.rows_per_query),
                                        ("subjects_per_hour", purpose.limits.subjects_per_hour))
                      if v is not None}
        if set_limits:
            limits[name] = set_limits
    canaries = {name: frozenset(map(str, t.canaries))
                for name, t in rules.tables.items() if t.canaries}
    return load_detection(rules.detection), limits, canaries
