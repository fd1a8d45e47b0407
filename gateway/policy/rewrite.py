"""The policy entry point: SQL text + purpose -> Decision (rewritten text or a refusal)."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import replace

from pglast.parser import ParseError, parse_sql_json

from gateway.bounded import put
from gateway.policy import (
    dml,  # noqa: F401  (registers the DML and COPY handlers)
    handlers,  # noqa: F401  (registers the expression handlers)
    render,
)
from gateway.policy.analyze import Analysis
from gateway.policy.catalog import Catalog
from gateway.policy.copyout import copy_layout
from gateway.policy.decision import (
    BAD_ENCODING,
    SYNTAX_ERROR,
    ColumnDecision,
    CopyLayout,
    Decision,
    Refusal,
    Refused,
    StatementInfo,
)
from gateway.policy.fastpath import literal_shape, plain_select, sensitive_names
from gateway.policy.masks import MaskKeyMissing
from gateway.policy.model import Purpose, Rules
from gateway.policy.scope import Scope
from gateway.policy.sqltext import Edit, Text, apply_edits

_CURSOR_BINARY = 0x0001  # DeclareCursorStmt.options: CURSOR_OPT_BINARY
_KINDS = {
    "SelectStmt": "select", "InsertStmt": "insert", "UpdateStmt": "update",
    "DeleteStmt": "delete", "CopyStmt": "copy", "DeclareCursorStmt": "declare",
    "ExplainStmt": "explain", "VariableSetStmt": "set", "VariableShowStmt": "show",
    "TransactionStmt": "transaction", "FetchStmt": "fetch", "ClosePortalStmt": "close",
    "MergeStmt": "merge", "CreateTableAsStmt": "create_table_as",
}
_PRECISION = ("none", "rows", "aggregate", "unknown")


def rewrite(sql: str, purpose: Purpose | None, rules: Rules, catalog: Catalog,
            mask_key: bytes | None = None, memo: dict | None = None,
            gateway_scan: bool = False) -> Decision:
    """Analyse `sql` for `purpose` (None: no purpose bound) and decide what to send.

    Pure and uncached; see PolicyCache for the cached form the session uses. `memo` may
    hold rendered projections between calls with the same rules, catalog and key.
    `gateway_scan`: the caller masks Decision.scan_columns and mask_columns itself (see
    Decision), so masked columns only passed through may stay clear in the SQL."""
    name = purpose.name if purpose else None
    try:
        tree = json.loads(parse_sql_json(sql))
    except ParseError as exc:
        location = exc.args[1] if len(exc.args) > 1 else None
        where = f" near byte {location}" if isinstance(location, int) else ""
        return _refusal(SYNTAX_ERROR, f"privacy gateway: cannot verify a statement that does "
                                      f"not parse (syntax error{where})", name)
    except UnicodeEncodeError:  # bytes that are not UTF-8, kept as lone surrogates
        return _refusal(BAD_ENCODING, 'privacy gateway: invalid byte sequence for encoding '
                                      '"UTF8" in the statement', name)
    statements = tree.get("stmts", [])
    if not statements:
        return Decision(sql=sql, kind="empty", purpose=name)
    text = Text(sql)
    try:
        return _decide(text, statements, purpose, rules, catalog, mask_key, memo, gateway_scan)
    except Refused as exc:
        # what was seen before the refusal still goes to the audit record
        kind = _KINDS.get(next(iter(statements[0]["stmt"])), "utility")
        refused = _refusal(exc.sqlstate, exc.message, name)
        return replace(refused, kind=kind if len(statements) == 1 else "multi",
                       tables=frozenset(exc.seen_tables), columns=tuple(exc.seen_columns))
    except MaskKeyMissing:
        return _refusal("42501", "privacy gateway: cannot verify: the hash mask needs "
                                 "a deployment key (keys.mask_hash_key_env)", name)
    except (LookupError, ValueError, TypeError, AttributeError, RecursionError):
        # an unexpected tree shape is not understood, so it does not run (fail closed)
        return _refusal("42501", "privacy gateway: cannot verify this statement", name)


def _decide(text: Text, statements: list[dict], purpose: Purpose | None, rules: Rules,
            catalog: Catalog, mask_key: bytes | None, memo: dict | None,
            gateway_scan: bool) -> Decision:
    edits: list[Edit] = []
    infos: list[StatementInfo] = []
    columns: dict[tuple[str, str], ColumnDecision] = {}
    subject_tables: tuple[str, ...] = ()
    scan_columns: tuple = ()
    mask_columns: tuple = ()
    declares: list[str] = []
    fetches = copied = None
    for raw in statements:
        node = raw["stmt"]
        kind_name, inner = next(iter(node.items()))
        a = Analysis(text, rules, purpose, catalog, memo)
        a.top = inner
        if kind_name == "DeclareCursorStmt":
            declares.append(inner.get("portalname", ""))
            # its SELECT is rewritten as a top-level one: the rows each FETCH returns then
            # carry their subject keys (a binary cursor's keys could not be read back)
            query = inner.get("query", {})
            if "SelectStmt" in query and not inner.get("options", 0) & _CURSOR_BINARY:
                a.top = query["SelectStmt"]
        elif kind_name == "FetchStmt" and len(statements) == 1 and not inner.get("ismove"):
            fetches = inner.get("portalname", "")
        layout = _copy_out_layout(kind_name, inner, len(statements))
        if layout is not None and "SelectStmt" in inner.get("query", {}):
            a.top = inner["query"]["SelectStmt"]  # its lines carry their subject keys
        try:
            a.visit(node, Scope())
        except Refused as exc:
            exc.seen_tables = {t for t in a.tables} | {t for i in infos for t in i.tables}
            exc.seen_columns = [*columns.values(), *a.columns.values()]
            raise
        if gateway_scan and len(statements) == 1 and kind_name == "SelectStmt":
            # (a cursor's or a COPY's free text stays masked in SQL: its rows come back
            # under FETCH or as CopyData)
            passed = render.gateway_positions(a)
            scan_columns = tuple((i, c.scan) for i, c in passed if c.mask.kind == "scan")
            mask_columns = tuple((i, c.mask) for i, c in passed if c.mask.kind != "scan")
        stmt_edits, exposure, subjects = _render(a, raw, len(statements) == 1, mask_key,
                                                 layout)
        edits.extend(stmt_edits)
        columns.update(a.columns)
        subject_tables = subjects or subject_tables
        copied = layout if subjects and layout is not None else copied
        infos.append(StatementInfo(kind=_KINDS.get(kind_name, "utility"),
                                   tables=frozenset(a.tables), exposure=exposure,
                                   rewritten=bool(stmt_edits)))
    sql = apply_edits(text.sql, edits) if edits else text.sql
    exposure = max((i.exposure for i in infos), key=_PRECISION.index)
    return Decision(
        sql=sql, kind=infos[0].kind if len(infos) == 1 else "multi",
        tables=frozenset().union(*(i.tables for i in infos)),
        columns=tuple(columns.values()), subject_columns=subject_tables, exposure=exposure,
        statements=tuple(infos), purpose=purpose.name if purpose else None,
        scan_columns=scan_columns, mask_columns=mask_columns, declares=tuple(declares),
        fetches=fetches, copy_layout=copied, redact_errors=any(i.tables for i in infos))


def _copy_out_layout(kind_name: str, inner: dict, count: int) -> CopyLayout | None:
    """The line layout of a lone COPY ... TO STDOUT whose lines can carry subject keys."""
    if kind_name != "CopyStmt" or count != 1 or inner.get("is_from") \
            or inner.get("filename") is not None or inner.get("is_program"):
        return None
    return copy_layout(inner.get("options"))


def _render(a: Analysis, raw: dict, alone: bool, key: bytes | None,
            copy: CopyLayout | None = None) -> tuple[list[Edit], str, tuple[str, ...]]:
    edits = list(a.edits)
    edits.extend(render.splice(a, item, key) for item in a.derived)
    exposure, subjects = ("none" if not a.tables else "unknown"), ()
    # COPY table TO STDOUT: its one table's subject key goes last on every line
    subject = (render.subject_key(a, a.copies[0][1])
               if copy is not None and alone and len(a.copies) == 1 else None)
    edits.extend(render.copy_edit(a, stmt, item, names, key, subject)
                 for stmt, item, names in a.copies)
    if subject is not None:
        exposure, subjects = "rows", (a.copies[0][1].table,)
    if a.returning_wrap is not None:
        start = a.text.pos(raw.get("stmt_location", 0))
        length = raw.get("stmt_len", 0)
        stop = a.text.pos(raw.get("stmt_location", 0) + length) if length else len(a.text.sql)
        edits.append(render.returning_edit(a, (start, stop), key, edits))
    elif a.top_scope is not None:
        edit, subjects, exposure = render.subject_edit(a, hexed=copy is not None)
        if edit is not None and alone:
            edits.append(edit)
        elif edit is not None:
            subjects, exposure = (), "unknown"
    if a.tables and not edits and exposure == "unknown" and not a.columns:
        exposure = "none"  # writes or utilities that return no classified rows
    return edits, exposure, subjects


def _refusal(sqlstate: str, message: str, purpose: str | None) -> Decision:
    return Decision(sql=None, refusal=Refusal(sqlstate, message), kind="refused", purpose=purpose)


class PolicyCache:
    """An LRU of decisions keyed by SQL text, purpose, rules version and catalog version,
    so repeated statements (prepared or not) cost a dictionary lookup."""

    def __init__(self, rules: Rules, catalog: Catalog, mask_key: bytes | None = None,
                 size: int = 4096, gateway_scan: bool = False) -> None:
        self.rules = rules
        self.gateway_scan = gateway_scan
        self.catalog = catalog
        self.mask_key = mask_key
        self.size = size
        self._entries: OrderedDict[tuple, Decision] = OrderedDict()
        self._memo: dict = {}
        # Plain SELECTs by literal shape and purpose: texts with inline literals differ
        # on every call, their shape does not.
        self._plain: dict[tuple[str, str | None], Decision] = {}
        # (RowDescription body, purpose) -> guarded result columns, for the session layer
        self.described: dict[tuple[bytes, str | None], tuple[int, ...]] = {}
        self._stamp = (rules.version, catalog.version)
        self._sensitive = sensitive_names(rules, catalog)
        self.hits = self.misses = 0

    def decide(self, sql: str, purpose: str | None) -> Decision:
        """The decision for `sql` under the purpose named (None: no purpose bound)."""
        key = (sql, purpose, self._stamp)
        entries = self._entries
        decision = entries.get(key)
        if decision is not None:
            entries.move_to_end(key)
            self.hits += 1
            return decision
        shape = literal_shape(sql)
        if shape is not None:
            decision = self._plain.get((shape, purpose))
            if decision is not None:
                self.hits += 1
                return decision
        self.misses += 1
        bound = self.rules.purposes.get(purpose) if purpose is not None else None
        if purpose is not None and bound is None:
            decision = _refusal("42501", f"purpose {purpose} is not defined in the rules", purpose)
        elif plain_select(sql, self._sensitive):
            decision = Decision(sql=sql, kind="select", purpose=purpose, verbatim=True,
                                shape=shape)
            if shape is not None:
                put(self._plain, (shape, purpose), decision, self.size)
                return decision
        else:
            decision = rewrite(sql, bound, self.rules, self.catalog, self.mask_key, self._memo,
                               self.gateway_scan)
        entries[key] = decision
        if len(entries) > self.size:
            entries.popitem(last=False)
        return decision

    def remember_description(self, key: tuple[bytes, str | None],
                             guards: tuple[int, ...]) -> None:
        put(self.described, key, guards, self.size)

    def replace(self, rules: Rules | None = None, catalog: Catalog | None = None) -> None:
        """Swap in new rules and/or catalog (a reload); old decisions are dropped."""
        self.rules = rules or self.rules
        self.catalog = catalog or self.catalog
        self._stamp = (self.rules.version, self.catalog.version)
        self._sensitive = sensitive_names(self.rules, self.catalog)
        self._entries.clear()
        self._plain.clear()
        self.described.clear()
        self._memo.clear()
