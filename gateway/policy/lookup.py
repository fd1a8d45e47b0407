"""Lookup predicates: `col = value` / `col IN (...)` on a lookup class compares clear values.

For a masked table entry the predicate moves into the masking derived table (where the
clear column exists) and its place in the client's WHERE becomes TRUE; for a DML target
it stays where it is. Anything else on a masked column sees the masked value only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.policy.scope import Item, Scope, flatten
from gateway.policy.sqltext import Edit, quote_ident

if TYPE_CHECKING:
    from gateway.policy.analyze import Analysis

Node = dict[str, Any]
_SIMPLE = {"A_Const", "ParamRef"}


class Pushdown:
    """Finds lookup conjuncts in one block's WHERE clause."""

    def __init__(self, analysis: Analysis, scope: Scope) -> None:
        self.a = analysis
        self.scope = scope

    def derived(self, where: Node | None, eligible: list[Item] | None = None) -> None:
        """Move lookups on masked entries into their derived tables.

        In a WHERE clause any entry not on the nullable side of an outer join qualifies;
        in a JOIN's ON clause, the `eligible` entries (those the condition filters)."""
        for conj in _conjuncts(where):
            match = self.match(conj)
            if match is None:
                continue
            item, column, ref = match
            allowed = (not item.nullable) if eligible is None else item in eligible
            if item.node is None or not allowed:
                continue  # e.g. an outer join's nullable side: leave it masked
            if self.move(conj, item, column, ref):
                self.a.skip.add(id(conj))
                self.a.use(item, column, lookup=True, real=True)

    def target(self, where: Node | None) -> None:
        """Allow lookups on a DML target's masked columns (they stay in place)."""
        for conj in _conjuncts(where):
            match = self.match(conj)
            if match is not None and match[0].target:
                self.a.skip.add(id(conj))
                self.a.use(match[0], match[1], lookup=True, real=True)

    def match(self, conj: Node) -> tuple[Item, str, Node] | None:
        expr = conj.get("A_Expr")
        if not expr or _op(expr) != "=":
            return None
        kind = expr.get("kind")
        left, right = expr.get("lexpr"), expr.get("rexpr")
        if kind == "AEXPR_OP" and right and "ColumnRef" in right and _simple(left):
            left, right = right, left
        if not (left and "ColumnRef" in left):
            return None
        if kind == "AEXPR_IN":
            values = right.get("List", {}).get("items") if isinstance(right, dict) else right
            if not (isinstance(values, list) and all(_simple(v) for v in values)):
                return None
        elif kind not in ("AEXPR_OP", "AEXPR_OP_ANY") or not _simple(right):
            return None
        ref = left["ColumnRef"]
        found = self.resolve(ref)
        if found is None:
            return None
        item, column = found[0], found[0].real(found[1])
        class_name = self.a.rules.tables[item.table].columns.get(column)
        purpose = self.a.purpose
        if class_name is None or purpose is None or not purpose.may_lookup(class_name):
            return None
        if purpose.treatment(class_name) not in ("mask", "hide"):
            return None
        return item, column, ref

    def resolve(self, ref: Node) -> tuple[Item, str] | None:
        fields = ref["fields"]
        if not all("String" in f for f in fields):
            return None
        names = [f["String"]["sval"] for f in fields]
        entries = [i for i in flatten(self.scope.items) if i.classified]
        if len(names) == 1:
            hits = [i for i in entries if i.has_column(names[0])]
            return (hits[0], names[0]) if len(hits) == 1 else None
        if len(names) == 2:
            hits = [i for i in entries if i.alias == names[0] and i.has_column(names[1])]
            return (hits[0], names[1]) if len(hits) == 1 else None
        return None

    def move(self, conj: Node, item: Item, column: str, ref: Node) -> bool:
        text = self.a.text
        locations = sorted(text.pos(loc) for loc in _locations(conj))
        tokens = text.tokens
        try:
            start = locations[0]
            end = tokens.conjunct_end(start)
            col_start = text.pos(ref["location"])
            col_end = tokens.name_end(col_start, len(ref["fields"]))
        except LookupError:
            return False
        if locations[-1] >= end or not start <= col_start < col_end <= end:
            return False  # odd parenthesisation: leave the predicate on the masked value
        sql = text.sql
        item.lookups.append(sql[start:col_start] + quote_ident(column) + sql[col_end:end])
        self.a.edits.append(Edit(start, end, "TRUE"))
        return True


def _conjuncts(where: Node | None) -> list[Node]:
    if not where:
        return []
    boolean = where.get("BoolExpr")
    if boolean and boolean.get("boolop") == "AND_EXPR":
        out: list[Node] = []
        for arg in boolean["args"]:
            out.extend(_conjuncts(arg))
        return out
    return [where]


def _op(expr: Node) -> str | None:
    names = expr.get("name") or []
    return names[-1]["String"]["sval"] if len(names) >= 1 and "String" in names[-1] else None


def _simple(node: Any) -> bool:
    """A constant, a parameter, or a cast / array of them: no column, no subquery."""
    if not isinstance(node, dict) or len(node) != 1:
        return False
    kind, body = next(iter(node.items()))
    if kind in _SIMPLE:
        return True
    if kind == "TypeCast":
        return _simple(body.get("arg"))
    if kind == "A_ArrayExpr":
        return all(_simple(e) for e in body.get("elements", ()))
    return False


def _locations(node: Any) -> list[int]:
    out: list[int] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            for key, value in current.items():
                if key == "location" and isinstance(value, int) and value >= 0:
                    out.append(value)
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(current, list):
            stack.extend(current)
    return out
