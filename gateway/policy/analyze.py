"""Walk a parsed statement: find every classified relation and column use, enforce the
purpose's treatments, and collect the text edits that mask what the statement reads."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from gateway.policy import guards
from gateway.policy.catalog import Catalog
from gateway.policy.decision import ColumnDecision, Refused
from gateway.policy.lookup import Pushdown
from gateway.policy.model import Purpose, Rules
from gateway.policy.scope import Item, Scope, flatten
from gateway.policy.sqltext import Edit, Tokens

Node = dict[str, Any]

# Statements whose query is refused when it touches classified tables (stored or planned).
PROBED = {"ExplainStmt": "EXPLAIN", "PrepareStmt": "PREPARE", "ViewStmt": "CREATE VIEW"}
# Aggregates always known, whatever the catalog snapshot holds.
AGGREGATES = frozenset({
    "count", "sum", "avg", "min", "max", "array_agg", "string_agg", "json_agg", "jsonb_agg",
    "json_object_agg", "jsonb_object_agg", "bool_and", "bool_or", "every", "bit_and", "bit_or",
    "xmlagg", "stddev", "variance", "mode", "percentile_cont", "percentile_disc",
})
# Expression-level clauses of a SELECT block, visited after its FROM clause.
# (lockingClause is left out: FOR UPDATE OF names FROM entries, not relations.)
SELECT_CLAUSES = ("targetList", "whereClause", "groupClause", "havingClause", "windowClause",
                  "sortClause", "distinctClause", "limitCount", "limitOffset")


class Analysis:
    """One statement's analysis; a fresh instance per statement."""

    def __init__(self, text: Text, rules: Rules, purpose: Purpose | None, catalog: Catalog,
                 memo: dict | None = None) -> None:
        self.text = text
        self.memo = {} if memo is None else memo  # rendered projections, shared by a cache
        self.rules = rules
        self.purpose = purpose
        self.catalog = catalog
        self.edits: list[Edit] = []
        self.columns: dict[tuple[str, str], ColumnDecision] = {}
        self.tables: set[str] = set()
        self.derived: list[Item] = []  # classified FROM entries to replace by derived tables
        self.copies: list[tuple[Node, Item, list[str]]] = []  # COPY table TO: (stmt, item, cols)
        self.returning_wrap: tuple[Node, Item] | None = None  # DML whose RETURNING is masked
        self.top: Node | None = None  # the statement's own node
        self.top_scope: Scope | None = None  # the scope of a top-level SELECT block
        self.copy_mode = False  # data leaves for another table: nothing in clear
        self.skip: set[int] = set()  # ids of nodes already handled (pushed-down lookups)
        self.returning: list[Item] = []  # DML targets whose RETURNING shows masked columns
        self.returning_items: tuple[Item, ...] = ()  # targets while RETURNING is visited
        self.bare = False  # visiting a bare column of the top-level output list

    # -- dispatch -----------------------------------------------------------------------

    def visit(self, node: Any, scope: Scope) -> None:
        if isinstance(node, list):
            for child in node:
                self.visit(child, scope)
            return
        if not isinstance(node, dict) or id(node) in self.skip:
            return
        if "relname" in node:  # a relation given without its RangeVar wrapper
            _range_var(self, node, scope)
            return
        for key, value in node.items():
            handler = _HANDLERS.get(key)
            if handler is not None:
                handler(self, value, scope)
            elif key in guards.CODE_STATEMENTS:
                raise Refused(f"privacy gateway: cannot verify {guards.CODE_STATEMENTS[key]}")
            elif key in PROBED:
                self.probe(value, scope, PROBED[key])
            elif isinstance(value, (dict, list)):
                self.visit(value, scope)

    def probe(self, stmt: Node, scope: Scope, what: str) -> None:
        """Refuse `what` when the statement inside it touches a classified table."""
        before = len(self.tables)
        self.visit(stmt, scope)
        if len(self.tables) != before or self.columns:
            raise Refused(f"privacy gateway: cannot verify {what} on classified tables "
                          f"({', '.join(sorted(self.tables))})")

    # -- SELECT -------------------------------------------------------------------------

    def select(self, stmt: Node, outer: Scope) -> Scope:
        if "withClause" in stmt:
            self.visit(stmt["withClause"], outer)
        if stmt.get("op", "SETOP_NONE") != "SETOP_NONE":
            self.select(stmt["larg"], outer)
            self.select(stmt["rarg"], outer)
            for clause in ("sortClause", "limitCount", "limitOffset"):
                self.visit(stmt.get(clause), outer)
            return outer
        scope = Scope(parent=outer)
        self.visit(stmt.get("valuesLists"), scope)
        for entry in stmt.get("fromClause", ()):
            self.from_entry(entry, scope, nullable=False)
        Pushdown(self, scope).derived(stmt.get("whereClause"))
        if stmt is self.top and not self.copy_mode:
            self.output_list(stmt.get("targetList", ()), scope)
        for clause in SELECT_CLAUSES:
            if clause != "targetList" or stmt is not self.top or self.copy_mode:
                self.visit(stmt.get(clause), scope)
        if "intoClause" in stmt:
            self.visit(stmt["intoClause"], scope)
        self.derived.extend(i for i in scope.classified_here() if i.node is not None)
        if stmt is self.top:
            self.top_scope = scope
        return scope

    def output_list(self, targets: list[Node], scope: Scope) -> None:
        """The top-level output list: bare columns are only passed through to the client."""
        for target in targets:
            value = target["ResTarget"].get("val", {})
            self.bare = "ColumnRef" in value
            self.visit(value, scope)
        self.bare = False

    def from_entry(self, entry: Node, scope: Scope, nullable: bool) -> list[Item]:
        """Add one FROM entry to the scope; returns the items it added."""
        kind, node = next(iter(entry.items()))
        if kind == "RangeVar":
            item = self.relation(node, nullable)
            scope.items.append(item)
            return [item]
        if kind == "JoinExpr":
            return self.join(node, scope, nullable)
        if kind == "RangeSubselect":
            inner = scope if node.get("lateral") else scope.parent
            self.select(node["subquery"]["SelectStmt"], inner or Scope())
        elif kind == "RangeTableSample":
            table = self.relation(node["relation"]["RangeVar"], nullable)
            if table.classified:
                raise Refused(f"privacy gateway: cannot verify TABLESAMPLE on {table.table}")
            self.visit(node.get("args"), scope)
        else:  # functions, XMLTABLE, JSON_TABLE: expressions only
            self.visit(node, scope)
        item = Item(alias=(node.get("alias") or {}).get("aliasname", ""), nullable=nullable)
        scope.items.append(item)
        return [item]

    def join(self, node: Node, scope: Scope, nullable: bool) -> list[Item]:
        kind = node.get("jointype", "JOIN_INNER")
        left_null = nullable or kind in ("JOIN_RIGHT", "JOIN_FULL")
        right_null = nullable or kind in ("JOIN_LEFT", "JOIN_FULL")
        mark = len(scope.items)
        added = self.from_entry(node["larg"], scope, left_null)
        added += self.from_entry(node["rarg"], scope, right_null)
        for name in node.get("usingClause", ()):
            self.column_ref([name["String"]["sval"]], scope)
        self.visit(node.get("quals"), scope)
        alias = (node.get("alias") or {}).get("aliasname")
        if alias:
            del scope.items[mark:]
            joined = Item(alias=alias, members=tuple(added), nullable=nullable)
            scope.items.append(joined)
            return [joined]
        return added

    def relation(self, rv: Node, nullable: bool, target: bool = False) -> Item:
        """Resolve a RangeVar; a classified one is recorded (and later replaced)."""
        relname = rv["relname"]
        alias = (rv.get("alias") or {}).get("aliasname", relname)
        guards.check_relation(relname)
        name = self.resolve(rv)
        if name is None:
            return Item(alias=alias, nullable=nullable, target=target)
        table = self.catalog.rules_table(name)
        columns = self.catalog.columns(name)
        if columns is None:
            raise Refused(f"privacy gateway: cannot verify {table}: not found in the database")
        self.tables.add(table)
        item = Item(alias=alias, table=table, relation=name, columns=columns, nullable=nullable,
                    target=target, node=None if target else rv,
                    copy=self.copy_mode and not target)
        colnames = (rv.get("alias") or {}).get("colnames")
        if colnames:  # `customers AS c(a, b)` renames columns by position
            visible = [n["String"]["sval"] for n in colnames]
            real = [c.name for c in columns]
            item.renamed = dict(zip(visible + real[len(visible):], real, strict=False))
        return item

    def resolve(self, rv: Node) -> str | None:
        """The classified relation a RangeVar names, or None. Unqualified names are matched
        on the relation name alone: a same-named temp table or CTE is masked like the
        classified table rather than risk reading the real one in clear."""
        schema, relname = rv.get("schemaname"), rv["relname"]
        known = [*self.rules.tables, *self.catalog.children]
        if schema:
            name = f"{schema}.{relname}"
            if name in self.catalog.guarded:
                self.guarded(name)
            return name if name in known else None
        candidates = [n for n in known if n.split(".", 1)[1] == relname]
        if not candidates:
            views = [n for n in self.catalog.guarded if n.split(".", 1)[1] == relname]
            if views:
                self.guarded(views[0])
            return None
        order = {s: i for i, s in enumerate(self.catalog.search_path)}
        return min(candidates, key=lambda n: order.get(n.split(".", 1)[0], len(order)))

    def guarded(self, view: str) -> None:
        raise Refused(f"privacy gateway: cannot verify {view}: it reads classified table "
                      f"{self.catalog.guarded[view]}")

    # -- column references --------------------------------------------------------------

    def column_ref(self, names: list[str], scope: Scope) -> None:
        if names[-1] == "*":
            if len(names) == 1:
                items = scope.classified_here()
            else:
                found = scope.find_alias(names[-2])
                items = flatten([found]) if found else []
            for item in items:
                self.use_all(item)
            return
        if len(names) == 1:
            hits = scope.with_column(names[0])
            for item in hits:
                self.use(item, names[0])
            if not hits:  # maybe a whole-row reference to an entry: a value built from all
                found = scope.find_alias(names[0])
                bare, self.bare = self.bare, False
                for item in flatten([found]) if found else []:
                    self.use_all(item)
                self.bare = bare
            return
        if len(names) == 2:
            found = scope.find_alias(names[0])
            for item in flatten([found]) if found else []:
                if item.has_column(names[1]):
                    self.use(item, names[1])
            return
        if any(t.split(".", 1)[1] == names[-2] for t in self.rules.tables):
            raise Refused(f"privacy gateway: cannot verify the qualified reference "
                          f"{'.'.join(names)}")

    def use_all(self, item: Item) -> None:
        for column in item.columns:
            self.use(item, column.name, real=True)

    def use(self, item: Item, column: str, lookup: bool = False, real: bool = False) -> None:
        """Record a use of item.column; refuse what the purpose does not allow."""
        if not item.classified:
            return
        column = column if real else item.real(column)
        class_name = self.rules.tables[item.table].columns.get(column)
        if class_name is None:
            return
        treatment = self.treatment(class_name, item.copy)
        if treatment == "mask" and self.rules.classes[class_name].mask.kind == "scan":
            (item.scan_bare if self.bare else item.scan_used).add(column)
        key = (item.table, column)
        previous = self.columns.get(key)
        self.columns[key] = ColumnDecision(item.table, column, class_name, treatment,
                                           lookup or bool(previous and previous.lookup))
        where = f"{item.table}.{column}"
        if treatment == "deny":
            if self.purpose is None:
                raise Refused(f"privacy gateway: column {where} is classified and no purpose "
                              "is declared (SET privacy.purpose)")
            raise Refused(f"privacy gateway: column {where} is denied for purpose "
                          f"{self.purpose.name}")
        if item.target and treatment != "show" and not lookup:
            if item in self.returning_items:
                if item not in self.returning:
                    self.returning.append(item)
                return
            raise Refused(f"privacy gateway: column {where} is not clear for purpose "
                          f"{self.purpose_name}; it cannot be used in a data-changing statement")

    def treatment(self, class_name: str, copy: bool | None = None) -> str:
        """The class's treatment; in copy mode nothing is shown in clear."""
        if self.purpose is None:
            return "deny"
        treatment = self.purpose.treatment(class_name)
        copy = self.copy_mode if copy is None else copy
        return "mask" if copy and treatment == "show" else treatment

    @property
    def purpose_name(self) -> str:
        return self.purpose.name if self.purpose else "(none)"


class Text:
    """The SQL text, with byte offsets (from the parser) mapped to character offsets."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self._map: list[int] | None = None
        self._tokens: Tokens | None = None
        if not sql.isascii():
            self._map = []
            for i, ch in enumerate(sql):
                self._map.extend([i] * len(ch.encode("utf-8")))
            self._map.append(len(sql))

    def pos(self, location: int) -> int:
        return location if self._map is None else self._map[location]

    @property
    def tokens(self) -> Tokens:
        if self._tokens is None:
            self._tokens = Tokens(self.sql)
        return self._tokens

    def name_end(self, pos: int, rv: Node) -> int:
        """End of the relation name of RangeVar `rv` starting at `pos`."""
        parts = [rv[k] for k in ("catalogname", "schemaname", "relname") if k in rv]
        match = _plain_name(parts).match(self.sql, pos)
        if match and not _IDENT_CHAR.match(self.sql, match.end()):
            return match.end()
        return self.tokens.name_end(pos, len(parts))  # quoted, escaped or commented names

    def from_before(self, pos: int) -> int | None:
        """Start of the FROM keyword that introduces the entry starting at `pos`."""
        head = self.sql[:pos].rstrip()
        if head[-4:].lower() == "from" and not _IDENT_CHAR.match(head, len(head) - 5):
            return len(head) - 4
        return self.tokens.keyword_before(pos, "FROM")


_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$\x80-\uffff]")


@lru_cache(maxsize=256)
def _plain_name_cached(parts: tuple[str, ...]) -> re.Pattern[str]:
    if not all(re.fullmatch(r"[a-z_][a-z0-9_$]*", p) for p in parts):
        return re.compile(r"(?!)")  # never matches: use the tokens
    return re.compile(r"\s*\.\s*".join(parts), re.IGNORECASE)


def _plain_name(parts: list[str]) -> re.Pattern[str]:
    return _plain_name_cached(tuple(parts))


def _names(fields: list[Node]) -> list[str]:
    return [f["String"]["sval"] if "String" in f else "*" for f in fields]


def _column_ref(a: Analysis, node: Node, scope: Scope) -> None:
    a.column_ref(_names(node["fields"]), scope)


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


def _sub_link(a: Analysis, node: Node, scope: Scope) -> None:
    a.visit(node.get("testexpr"), scope)
    a.select(node["subselect"]["SelectStmt"], scope)


def _select(a: Analysis, node: Node, scope: Scope) -> None:
    if "intoClause" in node:  # SELECT INTO copies data elsewhere: nothing in clear
        a.copy_mode = True
    a.select(node, scope)


def _range_var(a: Analysis, node: Node, scope: Scope) -> None:
    """A relation outside the places the rewrite handles (DDL and the like)."""
    item = a.relation(node, nullable=False, target=True)
    if item.classified:
        raise Refused(f"privacy gateway: cannot verify this statement on {item.table}")


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


_HANDLERS = {
    "ColumnRef": _column_ref,
    "FuncCall": _func_call,
    "SubLink": _sub_link,
    "SelectStmt": _select,
    "RangeVar": _range_var,
    "VariableSetStmt": _variable_set,
    "setstmt": _variable_set,  # ALTER ROLE / DATABASE / SYSTEM ... SET, unwrapped
}


def register(name: str):
    """Decorator adding a statement handler (used by the DML and utility module)."""
    def wrap(func):
        _HANDLERS[name] = func
        return func
    return wrap
