"""Turn an analysis into text edits: masking derived tables, COPY, RETURNING, subject keys."""

from __future__ import annotations

from gateway.policy.analyze import Analysis
from gateway.policy.copyout import hex_key
from gateway.policy.decision import SUBJECT_ALIAS
from gateway.policy.masks import MaskKeyMissing, masked_expr, null_of
from gateway.policy.model import ClassDef
from gateway.policy.scope import Item, flatten
from gateway.policy.sqltext import Edit, apply_edits, quote_ident, quote_literal

DML_CTE = "pgw_changed"


def derived_sql(a: Analysis, item: Item, key: bytes | None, source: str | None = None,
                only: bool = False) -> str:
    """SELECT returning every column of `item` under its treatment for the purpose."""
    memo_key = (item.relation, a.purpose_name, item.copy, only, source,
                frozenset(item.gateway_masked))
    cached = a.memo.get(memo_key)
    if cached is None:
        cached = a.memo[memo_key] = _projection(a, item, key, source, only)
    head, filters = cached
    filters = filters + item.lookups if item.lookups else filters
    return f"{head} WHERE {' AND '.join(filters)}" if filters else head


def _projection(a: Analysis, item: Item, key: bytes | None, source: str | None,
                only: bool) -> tuple[str, list[str]]:
    tdef = a.rules.tables[item.table]
    parts = []
    for column in item.columns:
        class_name = tdef.columns.get(column.name)
        name = quote_ident(column.name)
        treatment = a.treatment(class_name, item.copy) if class_name else "show"
        if treatment == "show" or column.name in item.gateway_masked:
            parts.append(name)
        elif treatment == "mask":
            parts.append(f"{_masked(a, item, class_name, column, key)} AS {name}")
        else:  # hide; deny is never referenced (refused) and NULL keeps `*` in shape
            parts.append(f"{null_of(column)} AS {name}")
    if source is None:
        schema, relname = item.relation.split(".", 1)
        source = ("ONLY " if only else "") + f"{quote_ident(schema)}.{quote_ident(relname)}"
    filters = [] if source == quote_ident(DML_CTE) else _filters(a, item)
    return f"SELECT {', '.join(parts)} FROM {source}", filters


def _masked(a: Analysis, item: Item, class_name: str, column, key: bytes | None) -> str:
    try:
        return masked_expr(a.rules.classes[class_name], column, a.rules, key)
    except MaskKeyMissing:
        if (item.table, column.name) in a.columns:
            raise  # asked for: refuse rather than make up a value
        return null_of(column)  # not asked for: keep `*`-free reads working


def _filters(a: Analysis, item: Item) -> list[str]:
    """Consent and retention: rows the purpose may not see are not there at all."""
    out = []
    purpose = a.purpose
    if purpose and purpose.consent_table == item.table:
        out.append(f"{quote_ident(purpose.consent_column)} IS TRUE")
    retention = a.rules.tables[item.table].retention
    if retention:
        # a scalar subquery: worked out once per statement (an InitPlan), not for each row
        cutoff = (f"SELECT pg_catalog.now() OPERATOR(pg_catalog.-) "
                  f"{quote_literal(retention.interval)}::pg_catalog.interval")
        out.append(f"{quote_ident(retention.column)} OPERATOR(pg_catalog.>=) ({cutoff})")
    return out


def splice(a: Analysis, item: Item, key: bytes | None) -> Edit:
    """Replace the relation name of a FROM entry by its masking derived table."""
    text, rv = a.text, item.node
    start = text.pos(rv["location"])
    end = text.name_end(start, rv)
    only = not rv.get("inh", False)
    if only:
        tokens = text.tokens
        name_index = tokens.index_at(start)
        if tokens.name(name_index - 1) != "ONLY":
            raise LookupError("ONLY in an unexpected form")
        start = tokens.items[name_index - 1].start
    rest = text.sql[end:end + 64].lstrip()
    if rest.startswith("*"):  # `table *`: descendants included, as by default
        end = text.sql.index("*", end) + 1
    alias = "" if rv.get("alias") else f" AS {quote_ident(rv['relname'])}"
    return Edit(start, end, f"({derived_sql(a, item, key, only=only)}){alias}")


def copy_edit(a: Analysis, stmt: dict, item: Item, names: list[str], key: bytes | None,
              subject: str | None = None) -> Edit:
    """COPY table [(cols)] TO ...  ->  COPY (SELECT cols FROM masked) TO ...; subject: the
    subject key column (see subject_key), then last on every line, hex-encoded (copyout)."""
    rv = stmt["relation"]
    start = a.text.pos(rv["location"])
    to = a.text.tokens.keyword_after(start, "TO")
    if to is None:
        raise LookupError("COPY without TO")
    alias = quote_ident(rv["relname"])
    cols = ", ".join(quote_ident(n) for n in names)
    if subject is not None:
        cols += f", {hex_key(f'{alias}.{quote_ident(subject)}')} AS {SUBJECT_ALIAS}"
    return Edit(start, to, f"(SELECT {cols} FROM ({derived_sql(a, item, key)}) AS {alias}) ")


def subject_key(a: Analysis, item: Item) -> str | None:
    """The column of item holding its subject key, when the purpose may see it; None when
    the table has no subject key or the purpose may not see it clear."""
    subject = a.rules.tables[item.table].subject
    class_name = a.rules.tables[item.table].columns.get(subject or "")
    if subject is None or (class_name and a.treatment(class_name, item.copy) != "show"):
        return None
    return subject


def returning_edit(a: Analysis, span: tuple[int, int], key: bytes | None, edits: list[Edit]
                   ) -> Edit:
    """Wrap a DML statement so its RETURNING list reads masked values of the changed rows."""
    node, target = a.returning_wrap
    exprs = (node.get("returningClause") or {}).get("exprs") or node["returningList"]
    tokens = a.text.tokens
    first = min(a.text.pos(e["ResTarget"]["location"]) for e in exprs)
    keyword = tokens.keyword_before(first, "RETURNING")
    start, stop = span
    last = tokens.index_before(stop)
    end = tokens.end(last) if tokens.name(last) != "ASCII_59" else tokens.items[last].start
    inner = [e for e in edits if start <= e.start and e.end <= end]
    for e in inner:
        edits.remove(e)
    head = _sub(a.text.sql, inner, start, keyword).rstrip()
    listed = _sub(a.text.sql, inner, first, end)
    cte = quote_ident(DML_CTE)
    masked = derived_sql(a, target, key, source=cte)
    alias = quote_ident(target.alias)
    return Edit(start, end, f"WITH {cte} AS ({head} RETURNING *) "
                            f"SELECT {listed} FROM ({masked}) AS {alias}")


def _sub(sql: str, edits: list[Edit], start: int, end: int) -> str:
    inside = [Edit(e.start - start, e.end - start, e.text) for e in edits
              if start <= e.start and e.end <= end]
    return apply_edits(sql[start:end], inside)


def subject_edit(a: Analysis, hexed: bool = False) -> tuple[Edit | None, tuple[str, ...], str]:
    """Append the subject key of each classified entry to a top-level SELECT's output
    (hex-encoded for a COPY's lines, see copyout).

    Returns the edit, the tables of the appended columns, and the exposure kind."""
    stmt, scope = a.top, a.top_scope
    if scope is None or not scope.classified_here():
        return None, (), "unknown" if a.tables else "none"
    if scope.aggregated or stmt.get("groupClause") or stmt.get("havingClause"):
        return None, (), "aggregate"
    if stmt.get("distinctClause") or not stmt.get("targetList") or "intoClause" in stmt:
        return None, (), "unknown"
    entries = [i for i in flatten(scope.items) if i.classified]
    keys = []
    for item in entries:
        subject = subject_key(a, item)
        if subject is None:
            return None, (), "unknown"
        visible = [v for v, r in item.renamed.items() if r == subject] or [subject]
        keys.append((item, visible[0]))
    where = a.text.from_before(_first_location(a, stmt["fromClause"][0]))
    if where is None:
        return None, (), "unknown"
    refs = [f"{quote_ident(i.alias)}.{quote_ident(s)}" for i, s in keys]
    added = "".join(f", {hex_key(r) if hexed else r} AS {SUBJECT_ALIAS}" for r in refs)
    return Edit(where, where, added + " "), tuple(i.table for i, _ in keys), "rows"


def gateway_positions(a: Analysis) -> tuple[tuple[int, ClassDef], ...]:
    """Leave masked columns that are only passed through to the client clear, for the
    gateway to mask in the result stream (free text: cheaper than regular expressions in
    SQL; other masks: the database does not compute them for every row); returns their
    output positions with their classes. Only columns masks.gateway_can_mask allows.
    Empty when positions cannot be known for sure (a `*` over an entry whose columns are
    not in the catalog, USING / NATURAL joins), or when the database must see the masked
    values (DISTINCT, INTO)."""
    scope, stmt = a.top_scope, a.top
    if scope is None or "intoClause" in stmt or stmt.get("distinctClause"):
        return ()
    if not any(i.passed - i.used for i in scope.classified_here()):
        return ()
    if _merging_join(stmt.get("fromClause", ())):
        return ()
    layout: list[tuple[Item | None, str | None]] = []  # (entry, real column) per output
    names_out: list[str | None] = []  # the name of each output, as ORDER BY may say it
    for target in stmt.get("targetList", ()):
        alias = target["ResTarget"].get("name")
        names = _ref_names(target["ResTarget"].get("val", {}))
        if names and names[-1] == "*":
            found = scope.find_alias(names[-2]) if len(names) == 2 else None
            entries = flatten([found]) if found else flatten(scope.items)
            if len(names) > 2 or (len(names) == 2 and not found):
                return ()
            for entry in entries:
                if not entry.classified:
                    return ()  # its width is unknown
                layout.extend((entry, c.name) for c in entry.columns)
                names_out.extend(c.name for c in entry.columns)
        elif names and len(names) <= 2:
            entry = _entry_of(scope, names)
            layout.append((entry, entry.real(names[-1]) if entry else None))
            names_out.append(alias or names[-1])
        else:
            layout.append((None, None))
            names_out.append(alias)
    # An output that ORDER BY or GROUP BY names by its position or its alias is sorted or
    # grouped as the query returns it: left clear, it would be ordered by its clear value.
    for position in _ordered_outputs(stmt, names_out):
        if 0 <= position < len(layout):
            entry, column = layout[position]
            if entry is not None and column is not None:
                entry.used.add(column)
    out = []
    for position, (entry, column) in enumerate(layout):
        if entry is None or column not in entry.passed or column in entry.used:
            continue
        entry.gateway_masked.add(column)
        class_name = a.rules.tables[entry.table].columns[column]
        out.append((position, a.rules.classes[class_name]))
    return tuple(out)


def _ordered_outputs(stmt: dict, names_out: list[str | None]) -> set[int]:
    """Output positions (0-based) that ORDER BY or GROUP BY (grouping sets included) refer
    to by number or by a bare output name."""
    nodes = [s["SortBy"].get("node", {}) for s in stmt.get("sortClause", ())]
    pending = list(stmt.get("groupClause", ()))
    while pending:
        node = pending.pop()
        if "GroupingSet" in node:
            pending.extend(node["GroupingSet"].get("content", ()))
        else:
            nodes.append(node)
    positions: set[int] = set()
    for node in nodes:
        const = node.get("A_Const", {})
        if "ival" in const:
            positions.add(const["ival"].get("ival", 0) - 1)
        names = _ref_names(node)
        if names is not None and len(names) == 1:
            positions.update(i for i, name in enumerate(names_out) if name == names[0])
    return positions


def _ref_names(value: dict) -> list[str] | None:
    ref = value.get("ColumnRef")
    if ref is None:
        return None
    return [f["String"]["sval"] if "String" in f else "*" for f in ref["fields"]]


def _entry_of(scope, names: list[str]) -> Item | None:
    if len(names) == 2:
        found = scope.find_alias(names[0])
        entries = flatten([found]) if found else []
    else:
        entries = flatten(scope.items)
    hits = [e for e in entries if e.classified and e.has_column(names[-1])]
    return hits[0] if len(hits) == 1 else None


def _merging_join(entries) -> bool:
    stack = list(entries)
    while stack:
        entry = stack.pop()
        join = entry.get("JoinExpr") if isinstance(entry, dict) else None
        if join:
            if join.get("usingClause") or join.get("isNatural"):
                return True
            stack += [join["larg"], join["rarg"]]
    return False


def _first_location(a: Analysis, entry: dict) -> int:
    while "JoinExpr" in entry:
        entry = entry["JoinExpr"]["larg"]
    if "RangeVar" in entry:
        return a.text.pos(entry["RangeVar"]["location"])
    stack, found = [entry], []
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "location" and isinstance(v, int) and v >= 0:
                    found.append(v)
                elif isinstance(v, (dict, list)):
                    stack.append(v)
        elif isinstance(node, list):
            stack.extend(node)
    return a.text.pos(min(found))
