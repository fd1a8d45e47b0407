"""The purpose rules as immutable values: classes, tables, purposes, principals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Treatment = Literal["show", "mask", "hide", "deny"]

# Mask kinds a class may name; `keep` is the {keep_first, keep_last, char} form.
NAMED_MASKS = frozenset({"name", "email", "year", "null", "redact", "hash"})


@dataclass(frozen=True)
class Mask:
    """How a class is shown when masked: a named kind, or `keep` with its parameters."""

    kind: str
    keep_first: int = 0
    keep_last: int = 0
    char: str = "*"


@dataclass(frozen=True)
class ClassDef:
    """A kind of personal information: its detector, mask, free-text scan and sensitivity."""

    name: str
    mask: Mask
    detect: str | None = None
    scan: tuple[str, ...] = ()
    sensitive: bool = False


@dataclass(frozen=True)
class Retention:
    """Rows whose `column` is older than `interval` (a PostgreSQL interval) are invisible."""

    column: str
    keep: str
    interval: str


@dataclass(frozen=True)
class TableDef:
    """A table holding classified columns; `name` is 'schema.table'."""

    name: str
    subject: str | None
    columns: dict[str, str]  # column -> class name
    canaries: tuple[str, ...] = ()  # subject values in text form
    retention: Retention | None = None

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def relname(self) -> str:
        return self.name.split(".", 1)[1]


@dataclass(frozen=True)
class Limits:
    """Per-purpose limits: rows one statement may return, subjects per hour (detection)."""

    rows_per_query: int | None = None
    subjects_per_hour: int | None = None


@dataclass(frozen=True)
class Purpose:
    """Why data is used, and how each class is treated for it."""

    name: str
    description: str = ""
    show: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()
    lookup: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    write: tuple[str, ...] = ()  # 'schema.table' names this purpose may write
    consent: str | None = None  # 'schema.table.column' that must be true for a row
    limits: Limits = field(default_factory=Limits)

    def treatment(self, class_name: str) -> Treatment:
        """show, hide or deny when listed; mask (privacy by default) otherwise."""
        if class_name in self.deny:
            return "deny"
        if class_name in self.hide:
            return "hide"
        if class_name in self.show:
            return "show"
        return "mask"

    def may_lookup(self, class_name: str) -> bool:
        """True when `col = value` on this class compares with the clear value."""
        return class_name in self.lookup

    @property
    def consent_table(self) -> str | None:
        return self.consent.rsplit(".", 1)[0] if self.consent else None

    @property
    def consent_column(self) -> str | None:
        return self.consent.rsplit(".", 1)[1] if self.consent else None


@dataclass(frozen=True)
class Principal:
    """Who may connect: a SCRAM verifier (or the variable holding a password), and purposes."""

    name: str
    password: str | None
    password_env: str | None
    purposes: tuple[str, ...]


@dataclass(frozen=True)
class Rules:
    """One loaded rules file; `version` is the sha256 of its bytes."""

    classes: dict[str, ClassDef]
    tables: dict[str, TableDef]
    purposes: dict[str, Purpose]
    principals: dict[str, Principal]
    version: str
    source: str
    detection: Any = None  # the optional `detection:` section, as plain data
    # 'tables.T.columns.C', 'purposes.P', ... -> line in the file, for later checks
    lines: dict[str, int] = field(default_factory=dict, compare=False)

    def mask_for(self, entity: str) -> Mask:
        """The mask of the class that detects `entity` (a redaction when none does)."""
        return next((c.mask for c in self.classes.values() if c.detect == entity),
                    Mask("redact"))

    def column_class(self, table: str, column: str) -> ClassDef | None:
        """The class of table.column, or None when the column is not classified."""
        tdef = self.tables.get(table)
        name = tdef.columns.get(column) if tdef else None
        return self.classes.get(name) if name else None
