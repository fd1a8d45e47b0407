"""Rules against a database catalog: tables, columns and whether each mask fits its type."""

from __future__ import annotations

from gateway.policy.catalog import DATETIME, Catalog, Column
from gateway.policy.masks import fits
from gateway.policy.model import Rules


def check_against_catalog(rules: Rules, catalog: Catalog) -> list[str]:
    """Problems as 'FILE:LINE: reason' lines (empty when the rules fit the database)."""
    problems: list[str] = []

    def report(key: str, reason: str) -> None:
        problems.append(f"{rules.source}:{rules.lines.get(key, 0)}: {reason}")

    for name, tdef in rules.tables.items():
        columns = {c.name: c for c in catalog.tables.get(name, ())}
        where = f"tables.{name}"
        if not columns:
            report(where, f"table {name} not found in the database")
            continue
        for column, class_name in tdef.columns.items():
            found = columns.get(column)
            key = f"{where}.columns.{column}"
            if found is None:
                report(key, f"column {name}.{column} not found in the database")
                continue
            mask = rules.classes[class_name].mask
            if not fits(mask, found):
                report(key, f"mask {mask.kind} of class {class_name} does not fit "
                            f"{name}.{column} of type {found.type}")
        if tdef.subject and tdef.subject not in columns:
            report(where, f"subject column {name}.{tdef.subject} not found in the database")
        retention = tdef.retention
        if retention and _category(columns.get(retention.column)) != DATETIME:
            report(where, f"retention column {name}.{retention.column} must be a date or "
                          "timestamp column")
    for purpose in rules.purposes.values():
        if purpose.consent and purpose.consent_table in catalog.tables:
            columns = {c.name: c for c in catalog.tables[purpose.consent_table]}
            column = columns.get(purpose.consent_column)
            if column is None or column.type != "boolean":
                report(f"purposes.{purpose.name}",
                       f"consent column {purpose.consent} must be a boolean column")
    return problems


def _category(column: Column | None) -> str | None:
    return column.category if column else None
