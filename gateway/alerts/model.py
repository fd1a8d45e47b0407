"""The internal alert: what fired, for whom, how bad, and a fingerprint for grouping.

Alerts carry counts, rule names, principal and purpose names, table names and links;
never subject ids, values or statement text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class Alert:
    """One detector finding. `group` narrows the fingerprint (e.g. a table name)."""

    rule: str
    severity: str
    summary: str
    principal: str | None = None
    purpose: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    group: str = ""
    shadow: bool = False
    replica: str | None = None
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: int | None = None
    occurrences: int = 1

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"alert severity must be one of {SEVERITIES}")

    @property
    def fingerprint(self) -> str:
        """Same rule, principal, purpose and group: the same alert, grouped together."""
        key = "\0".join((self.rule, self.principal or "", self.purpose or "", self.group))
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    @property
    def idempotency_key(self) -> str:
        """Stable across retries and replicas, so a receiver can drop duplicates."""
        stamp = self.id if self.id is not None else int(self.ts.timestamp())
        return f"{self.fingerprint}-{stamp}"

    @property
    def explanation(self) -> str:
        return str(self.details.get("explanation", self.summary))
