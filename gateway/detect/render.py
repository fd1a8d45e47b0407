"""The `tables:` proposal as YAML in the rules format, evidence in comments."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.detect.profile import Proposal

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


@dataclass(frozen=True)
class TableProposal:
    """One table's proposed section: subject column and classified columns."""

    table: str  # schema.name
    subject: str | None
    columns: Sequence[Proposal]
    sampled: int


def render(tables: Sequence[TableProposal], classes: Mapping[str, str], sample: int,
           clean: Sequence[str] = ()) -> str:
    """YAML text: a header, `tables:` with one comment per column, the tables left out."""
    lines = [
        f"# Proposed by privacy-gateway discover from up to {sample} sampled rows per table.",
        "# Review every line. confidence: mean detector score of the matching cells;",
        "# hit rate: share of sampled non-null cells that matched.",
        "tables:" if tables else "tables: {}",
    ]
    for table in tables:
        lines.extend(_table(table, classes))
    if clean:
        lines.append("# no personal information found in: " + ", ".join(clean))
    return "\n".join(lines) + "\n"


def _table(table: TableProposal, classes: Mapping[str, str]) -> list[str]:
    lines = [f"  {_key(table.table)}:  # {table.sampled} rows sampled"]
    if table.subject:
        lines.append(f"    subject: {_key(table.subject)}")
    else:
        lines.append("    # subject: ?  (no single-column primary or foreign key found)")
    lines.append("    columns:")
    width = max(len(_key(p.column)) + len(classes.get(p.kind, p.kind)) for p in table.columns)
    for p in table.columns:
        entry = f"{_key(p.column)}: {classes.get(p.kind, p.kind)}"
        rate = p.hits / p.cells if p.cells else 0.0
        comment = (f"confidence {p.confidence:.2f}, hit rate {rate:.0%} ({p.hits}/{p.cells})"
                   + (f", {p.note}" if p.note else ""))
        lines.append(f"      {entry.ljust(width + 2)}  # {comment}")
    return lines


def _key(name: str) -> str:
    """A YAML key: plain when safe, otherwise double-quoted (JSON quoting is valid YAML)."""
    return name if _PLAIN_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)
