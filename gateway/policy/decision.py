"""What the policy decided for one SQL string: the text to send, or a refusal, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from gateway.policy.model import Mask, Treatment

INSUFFICIENT_PRIVILEGE = "42501"
SUBJECT_ALIAS = "pgw_subject"  # the name of each subject-key column a rewrite appends
SYNTAX_ERROR = "42601"
BAD_ENCODING = "22021"  # character_not_in_repertoire: bytes that are not UTF-8

# How precisely the rows of a statement can be attributed to data subjects:
#   rows       each row's subjects arrive in the trailing `subject_columns` (see Decision)
#   aggregate  classified rows were summarised (count, group by, ...): no per-row subjects
#   unknown    classified data may be returned but rows cannot be attributed
#   none       no classified table is read
Exposure = Literal["rows", "aggregate", "unknown", "none"]


class Refused(Exception):
    """Raised inside the analysis; becomes Decision.refusal."""

    def __init__(self, message: str, sqlstate: str = INSUFFICIENT_PRIVILEGE) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message
        self.seen_tables: set[str] = set()  # filled in on the way out, for the audit
        self.seen_columns: list[ColumnDecision] = []


@dataclass(frozen=True)
class Refusal:
    """The error the client gets instead of running the statement."""

    sqlstate: str
    message: str


@dataclass(frozen=True)
class CopyLayout:
    """The rows of a COPY ... TO STDOUT whose rewrite appended subject keys, hex-encoded:
    in text or CSV format each key is the last field of the line (no delimiter or quote
    can appear in it), quoted when quote is set and the field is; header: the first line
    names the columns. binary: the keys are the last fields of each binary tuple."""

    delimiter: bytes
    quote: bytes | None = None
    header: bool = False
    binary: bool = False

    def split(self, line: bytes, keys: int) -> tuple[bytes, list[bytes]]:
        """(the line without its last `keys` fields, those fields as they were encoded)."""
        ending = b"\r\n" if line.endswith(b"\r\n") else b"\n" if line.endswith(b"\n") else b""
        body = line[:len(line) - len(ending)]
        fields = []
        for _ in range(keys):
            cut = body.rfind(self.delimiter)
            if cut < 0:
                break
            field = body[cut + 1:]
            if self.quote and len(field) >= 2 and field[:1] == field[-1:] == self.quote:
                field = field[1:-1]
            fields.append(field)
            body = body[:cut]
        return body + ending, fields[::-1]


@dataclass(frozen=True)
class ColumnDecision:
    """One classified column the statement touches, and how it is treated."""

    table: str  # 'schema.table' whose rules apply
    column: str
    class_name: str
    treatment: Treatment
    lookup: bool = False  # an equality predicate on it compares with the clear value


@dataclass(frozen=True)
class StatementInfo:
    """One statement of the string (a simple Query may carry several)."""

    kind: str  # select, insert, update, delete, copy, declare, explain, set, ddl, other
    tables: frozenset[str]  # classified tables read or written
    exposure: Exposure
    rewritten: bool


@dataclass(frozen=True)
class Decision:
    """The outcome of `rewrite()` for one SQL string under one purpose.

    sql: the text to send upstream (rewritten, or the original when nothing classified is
        touched); None when refused.
    refusal: set when the statement must not run (sqlstate + message for ErrorResponse).
    kind: the statement kind, or 'multi' for several statements, 'empty' for none.
    tables: classified tables ('schema.table') touched by any statement.
    columns: classified columns touched, with their treatment (for explain, audit, metering).
    subject_columns: when non-empty, the rewritten statement returns len(subject_columns)
        extra columns at the END of each row, holding the subject key of the table named at
        that position; the session strips them from RowDescription and every DataRow before
        forwarding (and, for Bind with per-column result formats, appends one text format
        code per extra column). Only set for a single top-level SELECT.
    exposure: see Exposure (for a multi-statement string: the least precise of them).
    scan_columns: (position, entities) pairs, only when the caller asked for gateway_scan:
        output columns (0-based, not counting the trailing subject columns) holding clear
        free text that the session must pass through freetext.masker(entities, rules)
        before forwarding each DataRow (text and binary format alike: UTF-8 text).
    mask_columns: (position, mask) pairs, as scan_columns: output columns holding the clear
        text of a column masked with `mask`, which the session replaces by
        freetext.column_masker(mask)(value) (what masks.text_mask computes in SQL).
    verbatim: True for a decision shared by every statement of one literal shape (see
        fastpath.literal_shape): the statement is forwarded as the client sent it, and
        `sql` holds only the first text that was decided.
    shape: the literal shape those statements share (fastpath.literal_shape), set with
        verbatim; None for a decision made for one text.
    redact_errors: True when the statement touches a classified table: an ErrorResponse
        for it may quote stored values (e.g. "Failing row contains (...)" in DETAIL), so
        the session forwards only severity, SQLSTATE and message (drops D, H, W, and the
        schema/table/column/constraint fields) and never logs them.
    declares: names of the cursors the string declares (DECLARE ... CURSOR). When the
        string is that one DECLARE, subject_columns, tables, columns and exposure describe
        the rows its FETCHes will return; the session applies them to each FETCH from it.
    fetches: the cursor a single FETCH statement reads from (None for anything else).
    copy_layout: set when a COPY ... TO STDOUT returns subject_columns (see CopyLayout):
        the session strips them from CopyOutResponse and every CopyData (line or tuple).
    """

    sql: str | None
    refusal: Refusal | None = None
    kind: str = "other"
    tables: frozenset[str] = frozenset()
    columns: tuple[ColumnDecision, ...] = ()
    subject_columns: tuple[str, ...] = ()
    exposure: Exposure = "none"
    statements: tuple[StatementInfo, ...] = field(default_factory=tuple)
    purpose: str | None = None
    redact_errors: bool = False
    verbatim: bool = False
    scan_columns: tuple[tuple[int, tuple[str, ...]], ...] = ()
    mask_columns: tuple[tuple[int, Mask], ...] = ()
    declares: tuple[str, ...] = ()
    fetches: str | None = None
    copy_layout: CopyLayout | None = None
    shape: str | None = None

    @property
    def allowed(self) -> bool:
        return self.refusal is None

    @cached_property  # asked for every statement the audit records; decisions are shared
    def rewritten(self) -> bool:
        return any(s.rewritten for s in self.statements)
