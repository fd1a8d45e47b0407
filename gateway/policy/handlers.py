"""Expression-level nodes of the walk: column references, function calls, subqueries,
stray relations and SET statements."""

from __future__ import annotations

from typing import Any

from gateway.policy import guards
from gateway.policy.analyze import AGGREGATES, Analysis, register
from gateway.policy.decision import Refused
from gateway.policy.scope import Scope

Node = dict[str, Any]


def _names(fields: list[Node]) -> list[str]:
    return [f["String"]["sval"] if "String" in f else "*" for f in fields]


@register("ColumnRef")
def _column_ref(a: Analysis, node: Node, scope: Scope) -> None:
    a.column_ref(_names(node["fields"]), scope)


@register("FuncCall")
def _func_call(a: Analysis, node: Node, scope: Scope) -> None:
    name = _names(node["funcname"])[-1].lower()
    guards.check_function(name)
    if name == "set_config":
        args = node.get("args") or [{}]
        const = args[0].get("A_Const", {}).get("sval", {}).get("sval")
        value = args[1].get("A_Const", {}).get("sval", {}).get("sval") if len(args) > 1 else None
        guards.check_setting(const, value)
    if "over" not in node and (name in AGGREGATES or name in a.catalog.aggregates
                               or node.get("agg_star") or node.get("agg_distinct")):
        scope.aggregated = True
    if name in a.catalog.risky_functions and a.rules.tables:
        raise Refused(f"privacy gateway: cannot verify function {name}: "
                      "it may read classified tables")
    _visit_fields(a, node, scope)


def _visit_fields(a: Analysis, node: Node, scope: Scope) -> None:
    for key, value in node.items():
        if key != "funcname" and isinstance(value, (dict, list)):
            a.visit(value, scope)


@register("SubLink")
def _sub_link(a: Analysis, node: Node, scope: Scope) -> None:
    a.visit(node.get("testexpr"), scope)
    a.select(node["subselect"]["SelectStmt"], scope)


@register("SelectStmt")
def _select(a: Analysis, node: Node, scope: Scope) -> None:
    if "intoClause" in node:  # SELECT INTO copies data elsewhere: nothing in clear
        a.copy_mode = True
    a.select(node, scope)


@register("RangeVar")
def _range_var(a: Analysis, node: Node, scope: Scope) -> None:
    """A relation outside the places the rewrite handles (DDL and the like)."""
    item = a.relation(node, nullable=False, target=True)
    if item.classified:
        raise Refused(f"privacy gateway: cannot verify this statement on {item.table}")


@register("VariableSetStmt")
def _variable_set(a: Analysis, node: Node, scope: Scope) -> None:
    if node.get("kind") in ("VAR_RESET_ALL", "VAR_SET_DEFAULT", "VAR_RESET"):
        if str(node.get("name", "")).lower().startswith(("privacy.", "pgw.")):
            guards.check_setting(node["name"], None)
        return
    if "name" not in node:
        return  # SET TRANSACTION ... and the like
    args = node.get("args") or []
    const = args[0].get("A_Const", {}) if args else {}
    value = const.get("sval", {}).get("sval")
    if value is None and "boolval" in const:
        value = "on" if const["boolval"].get("boolval") else "off"
    guards.check_setting(node["name"], value)


register("setstmt")(_variable_set)  # ALTER ROLE / DATABASE / SYSTEM ... SET, unwrapped
