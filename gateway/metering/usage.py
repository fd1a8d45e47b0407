"""What the session reports about one statement's use of classified tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(slots=True)
class TableUse:
    """Rows of one classified table that left the gateway in one statement.

    `subjects` are the subject ids of those rows (as text), taken from the subject key
    column even when the client did not select it; `aggregate` marks results such as
    count(*) whose rows are not per subject (subjects then lists what was aggregated,
    when known).
    """

    table: str
    rows: int = 0
    subjects: Sequence[str] = ()
    clear_classes: Sequence[str] = ()
    masked_classes: Sequence[str] = ()
    masked_cells: int = 0
    aggregate: bool = False
    canary_hits: int = 0  # canary subjects the session itself recognised


@dataclass(slots=True)
class StatementUse:
    """One statement as metering sees it; `audit_seq` links ledger rows to the audit log."""

    principal: str | None
    purpose: str | None
    decision: str
    tables: Sequence[TableUse] = ()
    session_id: str | None = None
    audit_seq: int | None = None
    duration_s: float = 0.0
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def refused(self) -> bool:
        return self.decision == "deny"

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)
