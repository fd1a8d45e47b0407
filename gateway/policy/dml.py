"""Statements that write or export: INSERT, UPDATE, DELETE, MERGE, COPY, CREATE TABLE AS."""

from __future__ import annotations

from typing import Any

from gateway.policy.analyze import Analysis, register
from gateway.policy.decision import Refused
from gateway.policy.lookup import Pushdown
from gateway.policy.scope import Item, Scope

Node = dict[str, Any]


def write_target(a: Analysis, rv: Node) -> Item:
    """The DML target; writing a classified table needs the purpose's `write:`."""
    item = a.relation(rv, nullable=False, target=True)
    if item.classified and (a.purpose is None or item.table not in a.purpose.write):
        raise Refused(f"privacy gateway: purpose {a.purpose_name} may not write {item.table}")
    return item


def written(a: Analysis, target: Item, targets: list[Node]) -> None:
    """Columns a statement writes: a denied class may not be written either."""
    if not target.classified:
        return
    for entry in targets:
        column = entry["ResTarget"].get("name")
        class_name = a.rules.tables[target.table].columns.get(column or "")
        if class_name and a.treatment(class_name) == "deny":
            raise Refused(f"privacy gateway: column {target.table}.{column} is denied for "
                          f"purpose {a.purpose_name}")


@register("InsertStmt")
def _insert(a: Analysis, node: Node, scope: Scope) -> None:
    saved, a.copy_mode = a.copy_mode, True  # rows copied from classified tables: masked
    a.visit(node.get("withClause"), scope)
    target = write_target(a, node["relation"])
    written(a, target, node.get("cols", []))
    a.visit(node.get("selectStmt"), scope)
    inner = Scope(parent=scope, items=[target])
    a.visit(node.get("onConflictClause"), inner)
    _returning(a, node, target, inner)
    a.copy_mode = saved


@register("UpdateStmt")
def _update(a: Analysis, node: Node, scope: Scope) -> None:
    _change(a, node, scope, "fromClause")


@register("DeleteStmt")
def _delete(a: Analysis, node: Node, scope: Scope) -> None:
    _change(a, node, scope, "usingClause")


def _change(a: Analysis, node: Node, scope: Scope, sources: str) -> None:
    saved, a.copy_mode = a.copy_mode, True  # values may be copied into the target: masked
    a.visit(node.get("withClause"), scope)
    target = write_target(a, node["relation"])
    written(a, target, node.get("targetList", []))
    inner = Scope(parent=scope, items=[target])
    for entry in node.get(sources, ()):
        a.from_entry(entry, inner, nullable=False)
    where = node.get("whereClause")
    pushdown = Pushdown(a, inner)
    pushdown.derived(where)
    pushdown.target(where)
    for assignment in node.get("targetList", ()):
        a.visit(assignment["ResTarget"].get("val"), inner)
    a.visit(where, inner)
    a.derived.extend(i for i in inner.classified_here() if i.node is not None)
    _returning(a, node, target, inner)
    a.copy_mode = saved


def _returning(a: Analysis, node: Node, target: Item, scope: Scope) -> None:
    exprs = (node.get("returningClause") or {}).get("exprs") or node.get("returningList")
    if not exprs:
        return
    a.returning_items = (target,)
    a.visit(exprs, scope)
    a.returning_items = ()
    if not a.returning:
        return
    simple = not any(node.get(k) for k in ("withClause", "fromClause", "usingClause"))
    if node is not a.top or not simple:
        raise Refused(f"privacy gateway: cannot verify RETURNING of {target.table} here "
                      "(return only clear columns, or use a plain statement)")
    a.returning_wrap = (node, target)


@register("MergeStmt")
def _merge(a: Analysis, node: Node, scope: Scope) -> None:
    a.probe({"MergeBody": node}, scope, "MERGE")


@register("CopyStmt")
def _copy(a: Analysis, node: Node, scope: Scope) -> None:
    if node.get("filename") is not None or node.get("is_program"):
        raise Refused("privacy gateway: COPY to or from a server file or program "
                      "is not allowed through the gateway")
    if "query" in node:
        a.visit(node["query"], scope)
        return
    if node.get("is_from"):
        write_target(a, node["relation"])
        return
    item = a.relation(node["relation"], nullable=False)
    if not item.classified:
        return
    names = [n["String"]["sval"] for n in node.get("attlist", ())] or [
        c.name for c in item.columns]
    for name in names:
        a.use(item, name)
    a.copies.append((node, item, names))


@register("CreateTableAsStmt")
def _create_table_as(a: Analysis, node: Node, scope: Scope) -> None:
    if node.get("objtype") == "OBJECT_MATVIEW":
        a.probe(node["query"], scope, "CREATE MATERIALIZED VIEW")
        return
    a.copy_mode = True  # a copy of classified data is never clear
    a.visit(node.get("query"), scope)
    a.visit(node.get("into"), scope)
