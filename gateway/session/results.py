"""Server responses tracked per statement: the second layer between the database and a client.

The core tells the tracker what it forwarded (Query, Parse, Bind, Describe, Execute,
Sync); the tracker then knows which statement every RowDescription, DataRow and
CommandComplete belongs to, and for that statement it
- strips the subject-key columns the rewrite appended, collecting the subjects seen;
- NULLs any column that comes straight from a classified base column the purpose may not
  see in clear (a rewrite miss: this should never fire);
- cuts a result over the purpose's rows_per_query with SQLSTATE 54000;
- redacts details of errors that may quote stored values;
- counts rows, and hands each finished statement to the caller (audit and metering).
Sans-IO: bytes in, bytes out.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from gateway import compiled
from gateway.bounded import put
from gateway.policy.decision import SUBJECT_ALIAS, Decision
from gateway.policy.freetext import column_masker, suspect
from gateway.policy.model import Mask
from gateway.protocol.buffer import ENCODING, ERRORS, I16, I32
from gateway.protocol.messages import Describe, ErrorResponse, Execute, RowDescription, Sync

# the compiled DataRow path; without it (see gateway/compiled.py) _rewrite_row does it
datarows = compiled.load("gateway.session.datarows")

_I16, _I32 = I16.unpack_from, I32.unpack_from
_HEADER = struct.Struct("!ih").pack  # DataRow length, then its column count
_I32_PACK = I32.pack
_NULL = b"\xff\xff\xff\xff"
_NO_SCANS: dict = {}  # shared, never written: most runs scan nothing
# The column masks (freetext.column_masker) the compiled DataRow path applies itself
_MASK_CODES = {} if datarows is None else {
    "keep": datarows.MASK_KEEP, "name": datarows.MASK_NAME, "email": datarows.MASK_EMAIL,
    "redact": datarows.MASK_REDACT}
# ... and the digit entities of the free-text pattern masker (freetext.masker)
_ENTITY_CODES = {} if datarows is None else {
    "CN_ID_CARD": datarows.ENTITY_ID_CARD, "CN_BANK_CARD": datarows.ENTITY_BANK_CARD,
    "CN_MOBILE": datarows.ENTITY_MOBILE}
_ROW_LIMIT = "54000"
# Subject keys one running statement holds before handing them over (to the exposure
# ledger): bounds a session's memory on a result of a million customers.
SUBJECT_BATCH = 10_000
_SYNC = ("sync", None)
_SYNC_BYTES = Sync().encode()
_BIND_BYTE, _PARSE_BYTE = ord("B"), ord("P")
_DATA_ROW_BYTE, _COMMAND_COMPLETE_BYTE = ord("D"), ord("C")
_BIND_COMPLETE = b"2\0\0\0\4"
_PARSE_BIND_COMPLETE = b"1\0\0\0\4" + _BIND_COMPLETE  # a batch that began with a Parse
_READY_HEAD = b"Z\0\0\0\5"
_EXECUTE_TAIL = 1 + 4 + 1 + 4 + len(_SYNC_BYTES)  # Execute and Sync, less the portal name
_REPEATS = 64  # batch forms a session keeps
_NO_PORTAL = (None, False)
_ALL_ROWS = 1 << 62
_SIMPLE_SHAPES = 64  # simple-Query statements a session keeps by decision
# Cursors a session remembers (drivers that name each cursor anew never reuse a name; the
# ones forgotten were declared longest ago, and their FETCHes pass unattributed).
_CURSORS = 1000

# origin(table_oid, attnum) -> True when that base column must not reach the client clear
Guard = Callable[[int, int], bool]
# RowDescription body -> positions of the columns that Guard flags (cached by the caller:
# applications describe the same few shapes again and again)
RowGuards = Callable[[bytes], tuple[int, ...]]
# entities -> a function masking them inside a free-text value
Maskers = Callable[[tuple[str, ...]], Callable[[str], str]]
# purpose -> the check of computed result cells under it (None: nothing to check)
Checker = Callable[["str | None"], "Callable[[str], str] | None"]
# Types whose binary form is their text (jsonb: after a version byte), so a finding in a
# binary cell of one can be masked in place; any other binary cell is NULLed instead.
_TEXT_BINARY = frozenset((25, 1043, 1042, 19, 705, 114, 3802, 142))
# Types whose values cannot hold an 11-digit run or an e-mail address (bool, int2, int4,
# oid, float4, date, time, timetz, timestamp, timestamptz, uuid): never checked.
_NO_ENTITY_TYPES = frozenset((16, 21, 23, 26, 700, 1082, 1083, 1266, 1114, 1184, 2950))
_UNKNOWN_SHAPES = 256  # RowDescription bodies whose computed columns are kept


@dataclass(frozen=True, slots=True)
class Checks:
    """The result columns of unknown provenance (computed, not read straight from a table)
    of a statement over classified tables, and the check their cells pass before they
    leave: the second, independent layer. The rewrite has masked whatever they were
    computed from, so a finding is a rewrite miss; it is masked and counted."""

    positions: tuple[int, ...]
    opaque: frozenset[int]  # binary cells that cannot be edited as text: NULL on a finding
    check: Callable[[str], str]


@dataclass
class Prepared:
    """A statement as parsed: its policy decision and, once described, guarded columns."""

    sql: str
    decision: Decision | None
    guards: tuple[int, ...] = ()
    checks: Checks | None = None
    described: bytes | None = None  # the last RowDescription body (clients re-describe)
    tag: bytes | None = None  # a CommandComplete tag to send in place of the server's


@dataclass(frozen=True, slots=True)
class Repeat:
    """A batch that a client sends again and again for a prepared statement that reads no
    classified table: Bind, perhaps Describe of its portal, Execute, Sync, with only the
    parameters changing. Its tracking is the same each time, so the tracker worked it out
    once; the same bytes around new parameters are then tracked at once (Tracker.repeated,
    Tracker.replay)."""

    statement: str
    portal: str
    prepared: Prepared  # the statement as it was bound: a new Parse or a Close ends this
    head: bytes  # the Bind's portal and statement names, each with its zero byte
    tail: bytes  # every byte after the Bind
    describe: bool
    lead: bytes = b""  # a Parse of the statement before the Bind, byte for byte
    sql: str | None = None  # and its text (the caller checks its decision is still current)

    @property
    def reply_head(self) -> bytes:
        """What the server's reply to the batch begins with."""
        return _PARSE_BIND_COMPLETE if self.lead else _BIND_COMPLETE


class Run:
    """One execution: a simple Query (all its statements) or an Execute of a portal.

    A plain class with slots rather than a dataclass: one is made per statement, and its
    construction is on every statement's path.
    """

    __slots__ = ("prepared", "sql", "started", "row_limit", "binary_subjects", "guards",
                 "rows", "subjects", "handed_over", "sqlstate", "tag", "cut", "misses", "plain",
                 "scans", "subject_tables", "touched", "copy_header", "checks", "always",
                 "copy_check", "copy_binary", "kinds", "masks", "sinks")

    def __init__(self, prepared: Prepared, started: float, row_limit: int | None = None,
                 binary_subjects: bool = False, guards: tuple[int, ...] = (),
                 scans: dict[int, Callable[[str], str]] = _NO_SCANS,
                 sql: str | None = None) -> None:
        self.prepared = prepared
        self.sql = prepared.sql if sql is None else sql  # the text run, for the audit
        self.started = started
        self.row_limit = row_limit
        self.binary_subjects = binary_subjects
        self.guards = guards
        self.checks = prepared.checks
        self.scans = scans
        self.rows = 0
        self.subjects: dict[str, set[str]] = {}  # table -> subject keys not yet handed over
        self.handed_over = 0  # subject keys handed over while the rows were still coming
        self.sqlstate: str | None = None
        self.tag = b""  # the CommandComplete tag, as sent
        self.cut = False
        self.misses = 0
        self.copy_header = False  # a COPY TO's header line is still to come
        self.copy_check: Callable[[str], str] | None = None  # see Tracker.copy_out
        self.copy_binary = False  # copy_check applies to the fields of binary tuples
        # for the compiled DataRow path, made at the first row (see Tracker._compiled):
        self.kinds: bytes | None = None  # what to do with each visible cell
        self.masks: tuple[tuple | None, ...] = ()  # the column mask of each MASK cell
        self.sinks: tuple[set[str], ...] | None = None  # the set of each subject key column
        self.update()

    @property
    def subject_count(self) -> int:
        """Distinct subjects of the statement (counted per handed-over batch, so a
        subject seen in two batches of a very long result counts twice)."""
        subjects = self.subjects
        return self.handed_over + (sum(map(len, subjects.values())) if subjects else 0)

    def update(self) -> None:
        """Rows pass untouched (plain) when there is nothing to strip, guard, check or
        limit."""
        decision = self.prepared.decision
        self.subject_tables = subjects = decision.subject_columns if decision else ()
        self.kinds = None
        guards, scans, checks = self.guards, self.scans, self.checks
        if not (guards or scans or checks):  # most statements: on every one's path
            self.always = self.touched = ()
            self.plain = not subjects and self.row_limit is None
            return
        # guarded and scanned cell positions, in order; touched: with the checked ones
        self.always = tuple(sorted({*guards, *scans})) if guards or scans else ()
        self.touched = (tuple(sorted({*self.always, *checks.positions})) if checks
                        else self.always)
        self.plain = False

    def learn(self, prepared: Prepared) -> None:
        """What the statement's RowDescription taught: guarded and checked columns."""
        self.guards, self.checks = prepared.guards, prepared.checks
        self.update()


@dataclass
class Tracker:
    """Attributes server responses to statements, in the order the client sent them."""

    row_guards: RowGuards | None = None
    maskers: Maskers | None = None
    checker: Checker | None = None
    clock: Callable[[], float] = lambda: 0.0
    finished: list[Run] = field(default_factory=list)
    # (run, subjects) batches of a statement still running: a result of many customers
    # hands its subject keys over every SUBJECT_BATCH instead of holding them to the end
    batches: list[tuple[Run, dict[str, set[str]]]] = field(default_factory=list)
    misses: int = 0
    # where the DataRows that data_row rewrote end, when it took more than the one it was
    # given (the compiled path takes every whole DataRow that follows); the caller resets it
    rows_end: int = 0
    # ("query"|"run", Run), ("describe", Prepared | None) or ("sync", None)
    _queue: deque[tuple[str, Any]] = field(default_factory=deque)
    _statements: dict[str, Prepared] = field(default_factory=dict)
    _portals: dict[str, tuple[Prepared, bool]] = field(default_factory=dict)
    # Simple Queries by decision: texts that differ only in their literals share one, so
    # what their RowDescription taught is not learnt again on every call.
    _simple: dict[int, Prepared] = field(default_factory=dict)
    # cursor name -> the decision of its DECLARE (None: declared in a way not followed)
    _cursors: dict[str, Decision | None] = field(default_factory=dict)
    # RowDescription body -> (computed columns, those of them opaque in binary)
    _unknown: dict[bytes, tuple[tuple[int, ...], frozenset[int]]] = field(default_factory=dict)
    # a Repeat by its leading Parse, or by its Bind head (see Repeat.head) when it has none
    _repeats: dict[bytes, Repeat] = field(default_factory=dict)
    # The one statement waiting for its reply, when that reply can be tracked at once
    # (see settle): (its Run, only thing in flight, rows untouched, tag the server's;
    # what the reply begins with before any RowDescription; whether a RowDescription
    # must come; the queue entries it made). The caller looks before calling settle.
    awaited: tuple[Run, bytes, bool, int] | None = None

    # ------------------------------------------------------------ what the client sent

    def query(self, sql: str, decision: Decision | None, row_limit: int | None,
              tag: bytes | None = None, started: float | None = None) -> None:
        """A simple Query; row_limit applies when it reads classified tables; tag, when
        given, answers in place of the server's CommandComplete tag; started: when it was
        sent, if not now (the compiled lane queues it late)."""
        if decision is None:
            prepared = Prepared(sql, None, tag=tag)
        else:
            known = self._simple.get(id(decision))
            if known is None or known.decision is not decision:
                known = Prepared(sql, decision)
                put(self._simple, id(decision), known, _SIMPLE_SHAPES)
            prepared = known
            if decision.declares:
                self._declared(decision)
            elif decision.fetches is not None:
                prepared = self._through_cursor(prepared, decision.fetches)
        run = self._run(prepared, row_limit, False, sql, started)
        queue = self._queue
        self.awaited = (run, b"", False, 1) \
            if not queue and run.plain and prepared.tag is None else None
        queue.append(("query", run))

    def _declared(self, decision: Decision) -> None:
        # From now on a FETCH from these cursors returns rows as the DECLARE decided them.
        alone, cursors = decision.kind == "declare", self._cursors
        for name in decision.declares:
            cursors.pop(name, None)  # the newest last: the oldest go first when full
            if len(cursors) >= _CURSORS:
                del cursors[next(iter(cursors))]
            cursors[name] = decision if alone else None

    def _through_cursor(self, prepared: Prepared, cursor: str) -> Prepared:
        """A FETCH as the statement its cursor runs (its tables, subject keys, limits)."""
        declared = self._cursors.get(cursor)
        return prepared if declared is None else Prepared(prepared.sql, declared)

    def _run(self, prepared: Prepared, row_limit: int | None, binary: bool,
             sql: str | None = None, started: float | None = None) -> Run:
        """A Run of prepared: rows_per_query and free-text scans apply only to statements
        that read classified tables."""
        decision = prepared.decision
        if started is None:
            started = self.clock()
        if decision is None or not decision.tables:
            return Run(prepared, started, None, binary, prepared.guards, _NO_SCANS, sql)
        return Run(prepared, started, row_limit, binary, prepared.guards,
                   self._scans(decision), sql)

    def _scans(self, decision: Decision) -> dict[int, Callable[[str], str]]:
        """The maskers of the columns the rewrite left for the gateway to mask."""
        if not decision.scan_columns and not decision.mask_columns:
            return _NO_SCANS
        scans = {i: column_masker(mask) for i, mask in decision.mask_columns}
        if self.maskers is not None:
            scans.update((i, self.maskers(entities)) for i, entities in decision.scan_columns)
        return scans

    def parse(self, name: str, sql: str, decision: Decision | None,
              tag: bytes | None = None) -> None:
        prepared = self._statements.get(name)
        # Drivers parse the same text again and again (the unnamed statement): keep what
        # was learnt from its RowDescription while the decision is the very same one.
        if prepared is None or decision is None or prepared.decision is not decision \
                or prepared.sql != sql:
            prepared = Prepared(sql, decision, tag=tag)
        self._statements[name] = prepared

    def prepared(self, name: str) -> Prepared | None:
        """The statement a Bind names, as it runs now (a FETCH: as its cursor's query)."""
        prepared = self._statements.get(name)
        if prepared is not None and prepared.decision is not None \
                and prepared.decision.fetches is not None:
            return self._through_cursor(prepared, prepared.decision.fetches)
        return prepared

    def bind(self, portal: str, prepared: Prepared | None, binary_subjects: bool) -> None:
        """A Bind of `prepared` (see prepared()) into a portal."""
        if prepared is not None:
            self._portals[portal] = (prepared, binary_subjects)

    def remember(self, data: bytes, bind_start: int, bind_end: int, portal: str,
                 statement: str, prepared: Prepared, sql: str | None = None) -> None:
        """A batch with a Bind (data[bind_start:bind_end]) of a statement that reads no
        classified table, first or after a Parse of it (the text sql) that went as it was:
        when the rest is Describe of its portal (or nothing), Execute of it and Sync, keep
        the batch's form (see Repeat)."""
        decision = prepared.decision
        if decision is not None and (decision.tables or decision.declares
                                     or decision.fetches is not None):
            return
        tail = data[bind_end:]
        execute = len(tail) - _EXECUTE_TAIL - len(portal.encode(ENCODING, ERRORS))  # Execute at
        describe = Describe("P", portal).encode()
        if execute not in (0, len(describe)) or (execute and not tail.startswith(describe)):
            return
        if tail[execute:] != Execute(portal, _I32(tail, len(tail) - 9)[0]).encode() + _SYNC_BYTES:
            return
        head = data[bind_start + 5:_names_end(data, bind_start)]
        lead = data[:bind_start]
        put(self._repeats, lead or head,
            Repeat(statement, portal, prepared, head, tail, bool(execute), lead, sql), _REPEATS)

    def repeated(self, data: bytes) -> Repeat | None:
        """The batch remembered (see Repeat) that data has the form of, else None."""
        if len(data) < 6 or not self._repeats:
            return None
        first = data[0]
        if first == _BIND_BYTE:
            found = self._repeats.get(data[5:_names_end(data, 0)])
            bind = 0
        elif first == _PARSE_BYTE:
            bind = 1 + _I32(data, 1)[0]
            if not 0 < bind <= len(data) - 6:  # a Parse alone, or no message at all
                return None
            found = self._repeats.get(data[:bind])
        else:
            return None
        if found is None or bind + 1 + _I32(data, bind + 1)[0] + len(found.tail) != len(data) \
                or not data.startswith(found.head, bind + 5) or not data.endswith(found.tail) \
                or self._statements.get(found.statement) is not found.prepared:
            return None
        return found

    def replay(self, found: Repeat, started: float | None = None) -> None:
        """Track a batch of the form found (see repeated) as its first one was tracked;
        started: when it was sent, if not now (the compiled lane queues it late)."""
        prepared, queue = found.prepared, self._queue
        self._portals[found.portal] = (prepared, False)
        alone = not queue
        if found.describe:
            queue.append(("describe", prepared))
        # (as _run makes it for a statement that reads no classified table, one call less)
        run = Run(prepared, self.clock() if started is None else started, None, False,
                  prepared.guards)
        queue.append(("run", run))
        queue.append(_SYNC)
        if alone and run.plain and prepared.tag is None:
            self.awaited = (run, found.reply_head, found.describe, 2 + found.describe)
        else:
            self.awaited = None

    def settle(self, data: bytes) -> bool:
        """Track at once the whole reply to the one statement awaited, when data is that
        reply and nothing else (see plain_reply). Anything else (an error, a notice, new
        columns, a reply cut in two) leaves it all to the message-by-message path."""
        awaited, self.awaited = self.awaited, None
        if awaited is None:
            return False
        run, head, describe, entries = awaited
        queue = self._queue
        if len(queue) != entries:
            return False
        shape = _plain_reply(data, head, run.prepared.described, describe)
        if shape is None:
            return False
        rows, tag_start, tag_end = shape
        run.rows += rows
        run.tag = data[tag_start:tag_end]
        queue.clear()
        self._finish(run)
        return True

    def describe(self, kind: str, name: str) -> None:
        target = self.prepared(name) if kind == "S" else self._portals.get(name, (None,))[0]
        self._queue.append(("describe", target))

    def execute(self, portal: str, row_limit: int | None) -> None:
        """An Execute; row_limit applies when the statement reads classified tables."""
        prepared, binary = self._portals.get(portal, _NO_PORTAL)
        if prepared is None:
            run = Run(Prepared("", None), self.clock())
        else:
            if prepared.decision is not None and prepared.decision.declares:
                self._declared(prepared.decision)
            run = self._run(prepared, row_limit, binary)
        self._queue.append(("run", run))

    def sync(self) -> None:
        self._queue.append(_SYNC)

    def close(self, kind: str, name: str) -> None:
        (self._statements if kind == "S" else self._portals).pop(name, None)

    # ------------------------------------------------------------ what the server sent

    def row_description(self, body: bytes) -> bytes | None:
        """A RowDescription: note guarded columns, drop subject-key fields."""
        queue = self._queue  # _head(), inline: this runs for every statement
        if not queue:
            return None
        kind, item = queue[0]
        if kind == "sync":
            return None
        prepared = item.prepared if kind in ("query", "run") else item
        if kind == "describe":
            self._queue.popleft()
        if prepared is None:
            return None
        decision = prepared.decision
        strip = len(decision.subject_columns) if decision else 0
        if not strip and body == prepared.described:
            # same columns as last time: same guards and checks, nothing to do
            if kind != "describe" and (item.guards is not prepared.guards
                                       or item.checks is not prepared.checks):
                item.learn(prepared)
            return None
        prepared.described = bytes(body)
        guards = self.row_guards(body) if self.row_guards else ()
        replacement = None
        if strip and decision:
            fields = RowDescription.from_body(body).fields
            if any(f.name != SUBJECT_ALIAS for f in fields[-strip:]):
                # Not the columns our rewrite appended (a cursor of that name opened some
                # other way): the rows pass as they are, their subjects unknown.
                prepared = self._unattributed(kind, item, prepared, decision)
            else:
                fields = fields[:-strip]
                guards = tuple(i for i in guards if i < len(fields))
                replacement = RowDescription(fields).encode()
        decision = prepared.decision
        scanned = {i for i, _ in (*decision.scan_columns, *decision.mask_columns)} \
            if decision else set()
        if scanned and guards:  # scanned columns we mask ourselves
            guards = tuple(i for i in guards if i not in scanned)
        prepared.guards = guards
        prepared.checks = self._checks(decision, body, scanned)
        if kind != "describe":
            item.learn(prepared)
        else:  # an Execute of the portal described may be queued already (B/D/E/S at once)
            for entry in self._queue:
                if entry[0] == "run" and entry[1].prepared is prepared:
                    entry[1].learn(prepared)
        return replacement

    def _checks(self, decision: Decision | None, body: bytes,
                scanned: set[int]) -> Checks | None:
        """The computed columns of a statement over classified tables, to be checked."""
        if decision is None or not decision.tables or self.checker is None:
            return None
        check = self.checker(decision.purpose)
        if check is None:
            return None
        found = self._unknown.get(body)
        if found is None:
            found = unknown_columns(body)
            put(self._unknown, bytes(body), found, _UNKNOWN_SHAPES)
        positions, opaque = found
        count = _I16(body, 0)[0] - len(decision.subject_columns)  # keys: cut off the rows
        positions = tuple(i for i in positions if i < count and i not in scanned)
        return Checks(positions, opaque, check) if positions else None

    @staticmethod
    def _unattributed(kind: str, item: Run | Prepared, prepared: Prepared,
                      decision: Decision) -> Prepared:
        unattributed = Prepared(prepared.sql, replace(decision, subject_columns=(),
                                                      exposure="unknown"),
                                described=prepared.described)
        if isinstance(item, Run):
            item.prepared = unattributed
        return unattributed

    def no_data(self) -> None:
        head = self._head()
        if head is not None and head[0] == "describe":
            self._queue.popleft()

    def data_row(self, data: bytes, start: int, end: int) -> bytes | None:
        """A DataRow: None to forward it as is, else its replacement (b'' drops it); the
        replacement may stand for the DataRows that follow too, up to rows_end."""
        queue = self._queue  # _head(), inline: this runs for every row
        if not queue:
            return None
        kind, run = queue[0]
        if kind == "sync" or kind == "describe":
            return None
        run.rows += 1
        if run.plain:
            return None
        if run.cut or self._over_limit(run):
            return b""
        if not (run.subject_tables or run.guards or run.scans or run.checks):
            return None
        if datarows is not None and type(data) is bytes:
            if run.kinds is None:
                self._compiled(run, _I16(data, start + 5)[0])
            # rows allowed from this one on (it is counted already)
            most = _ALL_ROWS if run.row_limit is None else run.row_limit - run.rows + 1
            rows, stop, taken, full = datarows.rewrite_rows(
                data, start, run.kinds, run.masks, run.sinks, run.binary_subjects,
                partial(self._cell, run), SUBJECT_BATCH, most)
            if full:
                self._hand_over(run)
            if taken:
                run.rows += taken - 1
                self.rows_end = stop
                return rows
        return self._rewrite_row(run, data, start, end)

    def _compiled(self, run: Run, count: int) -> None:
        """What the compiled path needs for the rows of run with count cells (see
        datarows.rewrite_rows); a row with another count goes the Python way."""
        keep = max(count - len(run.subject_tables), 0)
        kinds = bytearray(keep)
        if run.checks is not None:
            for i in run.checks.positions:
                if i < keep:
                    kinds[i] = datarows.CHECK
        masks: list[tuple | None] = [None] * keep
        for i, scan in run.scans.items():
            if i >= keep:
                continue
            mask = getattr(scan, "mask", None)  # a column mask: done in the compiled pass
            if mask is not None:
                kinds[i], masks[i] = datarows.MASK, _compiled_mask(mask)
            elif getattr(scan, "digit_gated", False):
                kinds[i] = datarows.SCAN
                masks[i] = _compiled_patterns(getattr(scan, "patterns", None))
            else:
                kinds[i] = datarows.SCAN_ALWAYS
        for i in run.guards:
            if i < keep:
                kinds[i] = datarows.GUARD
        run.kinds = bytes(kinds)
        run.masks = tuple(masks)
        self._sinks(run)

    @staticmethod
    def _sinks(run: Run) -> None:
        subjects = run.subjects
        run.sinks = tuple(subjects.setdefault(table, set()) for table in run.subject_tables)

    def _rewrite_row(self, run: Run, data: bytes, start: int, end: int) -> bytes:
        # Untouched cells travel as slices of the original row; only guarded and scanned
        # cells are rebuilt, and the subject keys at the end are read and cut off.
        count = _I16(data, start + 5)[0]
        keep = count - len(run.subject_tables)
        offsets = [0] * (count + 1)  # where each cell starts; then where the last ends
        pos, i32 = start + 7, _I32
        for i in range(count):
            offsets[i] = pos
            length = i32(data, pos)[0]
            pos += 4 + length if length > 0 else 4
        offsets[count] = pos
        full = False
        for i in range(keep, count):
            cell = offsets[i]
            if i32(data, cell)[0] >= 0:
                full |= self._subject(run, i - keep, _subject(data[cell + 4:offsets[i + 1]],
                                                              run.binary_subjects))
        if full:
            self._hand_over(run)
        pieces: list[bytes] = []
        run_start = start + 7
        touched, checks = run.touched, run.checks
        if checks is not None and not suspect(
                data, offsets[checks.positions[0]], offsets[checks.positions[-1] + 1]):
            touched = run.always  # nothing in the checked cells that the check could find
        for i in touched:
            if i >= keep:
                continue
            cell, stop = offsets[i], offsets[i + 1]
            if i32(data, cell)[0] < 0:
                continue  # NULL stays NULL
            replacement = self._cell(run, i, data[cell + 4:stop])
            if replacement is None:
                continue  # nothing to mask: the cell stays in the untouched slice
            pieces.append(data[run_start:cell])
            pieces.append(replacement)
            run_start = stop
        pieces.append(data[run_start:offsets[keep]])
        body = b"".join(pieces)
        return b"D" + _HEADER(len(body) + 6, keep) + body

    @staticmethod
    def _subject(run: Run, position: int, key: str) -> bool:
        """Note a subject key; True when its set is full (hand over after the row)."""
        table = run.subject_tables[position]
        keys = run.subjects.get(table)
        if keys is None:
            keys = run.subjects[table] = set()
        keys.add(key)
        return len(keys) >= SUBJECT_BATCH

    def _hand_over(self, run: Run) -> None:
        self.batches.append((run, run.subjects))
        run.handed_over += sum(len(keys) for keys in run.subjects.values())
        run.subjects = {}
        if run.sinks is not None:
            self._sinks(run)

    @staticmethod
    def _cell(run: Run, i: int, value: bytes) -> bytes | None:
        """The cell to send in place of a guarded or scanned one; None to keep it."""
        if i in run.guards:
            run.misses += 1
            return _NULL
        scan = run.scans.get(i)
        if scan is None:  # a computed column (see Checks)
            checks = run.checks
            assert checks is not None
            found = _checked(run, checks.check, value)
            if found is None:
                return None
            return _NULL if i in checks.opaque else _I32_PACK(len(found)) + found
        text = value.decode("utf-8", "surrogateescape")
        masked = scan(text)
        if masked is text:  # the maskers hand back the very text when they found nothing
            return None
        encoded = masked.encode("utf-8", "surrogateescape")
        return _I32_PACK(len(encoded)) + encoded

    def copy_out(self, body: bytes) -> bytes | None:
        """A CopyOutResponse: without the subject-key columns the rewrite appended."""
        head = self._head()
        if head is None or head[0] == "describe":
            return None
        run: Run = head[1]
        decision = run.prepared.decision
        run.copy_binary = body[:1] == b"\1"
        if decision is not None and decision.tables and self.checker is not None:
            # The rows of a COPY over classified tables: every field is computed as far as
            # the stream can tell, so each line (each field of a binary tuple) passes the
            # check of computed columns.
            run.copy_check = self.checker(decision.purpose)
        keys = len(run.subject_tables)
        layout = decision.copy_layout if decision else None
        if layout is None or not keys:
            return None
        count = _I16(body, 1)[0] - keys
        if count < 0:
            return None
        run.copy_header = layout.header
        formats = body[3:3 + 2 * count]
        return b"H" + _I32_PACK(7 + len(formats)) + body[:1] + I16.pack(count) + formats

    def copy_data(self, data: bytes, start: int, end: int) -> bytes | None:
        """A CopyData line of a COPY TO: counted, and its subject keys taken off."""
        head = self._head()
        if head is None or head[0] == "describe":
            return None
        run: Run = head[1]
        keys = len(run.subject_tables)
        layout = run.prepared.decision.copy_layout if keys and run.prepared.decision else None
        if run.copy_binary:
            return self._binary_copy(run, data, start + 5, end, keys if layout else 0)
        if layout is None:
            run.rows += 1
            if self._over_limit(run):
                return b""
            found = None if run.copy_check is None else _checked(
                run, run.copy_check, data[start + 5:end])
            return None if found is None else b"d" + _I32_PACK(len(found) + 4) + found
        line, fields = layout.split(data[start + 5:end], keys)
        if run.copy_check is not None:
            found = _checked(run, run.copy_check, line)
            if found is not None:
                line = found
        if run.copy_header:  # the column names: not a row, and no subject
            run.copy_header = False
        else:
            run.rows += 1
            if self._over_limit(run):
                return b""
            self._hex_keys(run, fields)
        return b"d" + _I32_PACK(len(line) + 4) + line

    def _binary_copy(self, run: Run, data: bytes, start: int, end: int,
                     keys: int) -> bytes | None:
        """A CopyData of a binary COPY TO: its tuples counted, their last `keys` fields
        read as subject keys and cut off, and, over classified tables, every other field
        checked (a finding goes as NULL: its type is not known, so it cannot be edited).
        PostgreSQL sends the header with the first tuple, then one tuple per message, then
        the trailer alone; a message not made so is dropped when it could hold a finding
        or keys (the client's COPY fails: fail closed), else passed."""
        check = run.copy_check
        tuples = _binary_tuples(data, start, end)
        if tuples is None or any(len(fields) < keys for _, fields in tuples):
            if keys or (check is not None and suspect(data, start, end)):
                run.misses += 1
                return b""
            return None
        run.rows += len(tuples)
        if tuples and self._over_limit(run):
            return b""
        pieces: list[bytes] = []
        run_start = start
        for count_at, fields in tuples:
            shown = len(fields) - keys
            if keys:
                self._hex_keys(run, [None if null else data[cell + 4:stop]
                                     for cell, stop, null in fields[shown:]])
                pieces += (data[run_start:count_at], I16.pack(shown))
                run_start = count_at + 2
            for cell, stop, null in fields[:shown] if check is not None else ():
                if not null and _checked(run, check, data[cell + 4:stop]) is not None:
                    pieces += (data[run_start:cell], _NULL)
                    run_start = stop
            if keys:
                cut = fields[shown][0]  # the keys: not sent
                pieces.append(data[run_start:cut])
                run_start = fields[-1][1]
        if not pieces:
            return None
        pieces.append(data[run_start:end])
        body = b"".join(pieces)
        return b"d" + _I32_PACK(len(body) + 4) + body

    def _hex_keys(self, run: Run, fields: Sequence[bytes | None]) -> None:
        """The subject keys of one COPY row, hex-encoded as the rewrite wrote them (None:
        NULL, no subject)."""
        full = False
        for position, encoded in enumerate(fields):
            if encoded is None:
                continue
            try:
                key = bytes.fromhex(encoded.decode("ascii")).decode("utf-8", "replace")
            except ValueError:
                run.misses += 1  # not a key of ours: the row still goes without it
            else:
                full |= self._subject(run, position, key)
        if full:
            self._hand_over(run)

    @staticmethod
    def _over_limit(run: Run) -> bool:
        """True for a row past the purpose's rows_per_query (it is dropped); the statement
        then ends with a 54000 error (see command_complete)."""
        if run.row_limit is not None and run.rows > run.row_limit:
            run.cut = True
        return run.cut

    def command_complete(self, body: bytes) -> bytes | None:
        """End of one statement's rows; an over-limit result becomes a 54000 error."""
        queue = self._queue  # _head(), inline: this runs for every statement
        if not queue:
            return None
        kind, run = queue[0]
        if kind == "sync" or kind == "describe":
            return None
        run.tag = body
        if kind == "run":
            queue.popleft()
            self._finish(run)
        if run.prepared.tag is not None:
            return b"C" + I32.pack(len(run.prepared.tag) + 4) + run.prepared.tag
        if run.cut:
            run.sqlstate = _ROW_LIMIT
            return ErrorResponse.build(
                _ROW_LIMIT, f"privacy gateway: row limit of {run.row_limit} rows per query "
                "exceeded for this purpose").encode()
        return None

    def suspended(self) -> None:
        head = self._head()
        if head is not None and head[0] == "run":
            self._finish(self._queue.popleft()[1])

    def error(self, body: bytes) -> bytes | None:
        """An ErrorResponse ends the statement (and, extended, all up to the next Sync)."""
        head = self._head()
        if head is None:
            return None
        message = ErrorResponse.from_body(body)
        sqlstate = message.get("C")
        item = head[1]
        prepared = item.prepared if head[0] in ("query", "run") else item
        if head[0] in ("query", "run"):
            item.sqlstate = item.sqlstate or sqlstate
        if head[0] != "query":
            while self._queue and self._queue[0][0] != "sync":
                kind, dropped = self._queue.popleft()
                if kind == "run":
                    self._finish(dropped)
        decision = prepared.decision if prepared else None
        if decision is not None and decision.redact_errors:
            fields = tuple(f for f in message.fields if f[0] in "SVCM")
            return ErrorResponse(fields).encode()
        return None

    def ready(self) -> None:
        """ReadyForQuery: the end of a simple Query or of a Sync's batch."""
        while self._queue:
            kind, item = self._queue.popleft()
            if kind == "query":
                self._finish(item)
                return
            if kind == "sync":
                return
            if kind == "run":
                self._finish(item)

    def _head(self) -> tuple[str, Any] | None:
        # Sync markers answer only to ReadyForQuery; other responses belong to what precedes.
        queue = self._queue
        if queue:
            entry = queue[0]
            if entry[0] != "sync":
                return entry
        return None

    def _finish(self, run: Run) -> None:
        self.misses += run.misses
        self.finished.append(run)


def _compiled_mask(mask: Mask) -> tuple:
    """A column mask as datarows.rewrite_rows takes it."""
    return (_MASK_CODES[mask.kind], mask.keep_first, mask.keep_last, mask.char.encode())


def _compiled_patterns(patterns: tuple | None) -> tuple | None:
    """A free-text masker's patterns (session.freetext.text_masker) as rewrite_rows takes
    them."""
    if patterns is None:
        return None
    digits, email, detector = patterns
    return (tuple((_ENTITY_CODES[e], _compiled_mask(m)) for e, m in digits),
            None if email is None else _compiled_mask(email), detector)


def _checked(run: Run, check: Callable[[str], str], value: bytes) -> bytes | None:
    """A computed cell or COPY line as the check of computed columns leaves it, or None
    when it finds nothing; what it finds, the rewrite missed (counted in run.misses)."""
    if not suspect(value, 0, len(value)):
        return None
    text = value.decode("utf-8", "surrogateescape")
    masked = check(text)
    if masked == text:
        return None
    run.misses += 1
    return masked.encode("utf-8", "surrogateescape")


def plain_reply(data: bytes, head: bytes, described: bytes | None,
                describe: bool) -> tuple[int, int, int] | None:
    """When data is one whole reply made of head, a RowDescription with the body
    `described` (required when describe), DataRows, CommandComplete and ReadyForQuery:
    the number of DataRows and where the CommandComplete tag starts and ends; else None.
    The Python twin of datarows.plain_reply."""
    size = len(data)
    if not data.startswith(head):
        return None
    pos = len(head)
    if data.startswith(b"T", pos):
        if described is None or size - pos < 5 \
                or _I32(data, pos + 1)[0] != len(described) + 4 \
                or not data.startswith(described, pos + 5):
            return None
        pos += 5 + len(described)
    elif describe:
        return None
    rows = 0
    while size - pos >= 5 and data[pos] == _DATA_ROW_BYTE:
        length = _I32(data, pos + 1)[0]
        if length < 4:
            return None
        pos += 1 + length
        rows += 1
    if size - pos < 5 or data[pos] != _COMMAND_COMPLETE_BYTE:
        return None
    end = pos + 1 + _I32(data, pos + 1)[0]
    if end + 6 != size or end < pos + 5 or not data.startswith(_READY_HEAD, end):
        return None
    return rows, pos + 5, end


_plain_reply = datarows.plain_reply if datarows is not None else plain_reply


def _names_end(data: bytes, bind: int) -> int:
    """Where the portal and statement names of the Bind at data[bind] end."""
    return data.find(b"\0", data.find(b"\0", bind + 5) + 1) + 1


_BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\0"


def _binary_tuples(data: bytes, start: int, end: int
                   ) -> list[tuple[int, list[tuple[int, int, bool]]]] | None:
    """The tuples in data[start:end], a CopyData of a binary COPY (perhaps the header
    first, whole tuples, perhaps the trailer last): for each, where its field count is
    and its fields as (start, end, NULL or not), each field's length word included; None
    when it is not made of exactly that."""
    pos = start
    if data.startswith(_BINARY_SIGNATURE, pos):  # flags, then a header extension
        if end - pos < 19:
            return None
        extension = _I32(data, pos + 15)[0]
        if extension < 0:
            return None
        pos += 19 + extension
    tuples = []
    while pos < end:
        if end - pos < 2:
            return None
        count_at, count = pos, _I16(data, pos)[0]
        pos += 2
        if count < 0:  # the trailer (-1) ends the data
            return tuples if count == -1 and pos == end else None
        fields = []
        for _ in range(count):
            if end - pos < 4:
                return None
            length = _I32(data, pos)[0]
            stop = pos + 4 + max(length, 0)
            if stop > end:
                return None
            fields.append((pos, stop, length < 0))
            pos = stop
        tuples.append((count_at, fields))
    return tuples if pos == end else None


def unknown_columns(body: bytes) -> tuple[tuple[int, ...], frozenset[int]]:
    """Positions of the columns of a RowDescription body that no table column is named as
    the source of (expressions) and whose type can hold a number or an e-mail address,
    and those of them whose binary form is not their text."""
    fields = RowDescription.from_body(body).fields
    positions = tuple(i for i, f in enumerate(fields)
                      if not f.table_oid and f.type_oid not in _NO_ENTITY_TYPES)
    opaque = frozenset(i for i in positions
                       if fields[i].format == 1 and fields[i].type_oid not in _TEXT_BINARY)
    return positions, opaque


def column_guards(body: bytes, guard: Guard) -> tuple[int, ...]:
    """Positions of the columns of a RowDescription body that come from a guarded column."""
    fields = RowDescription.from_body(body).fields
    return tuple(i for i, f in enumerate(fields) if f.table_oid and guard(f.table_oid, f.column))


def _subject(raw: bytes, binary: bool) -> str:
    if binary and len(raw) in (2, 4, 8):
        return str(int.from_bytes(raw, "big", signed=True))
    return raw.decode("utf-8", "replace")
