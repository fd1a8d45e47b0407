"""Walk a parsed statement: find every classified relation and column use, enforce the
purpose's treatments, and collect the text edits that mask what the statement reads."""

from __future__ import annotations

from typing import Any

from gateway.policy import guards
from gateway.policy.catalog import Catalog
from gateway.policy.decision import ColumnDecision, Refused
from gateway.policy.lookup import Pushdown
from gateway.policy.masks import gateway_can_mask
from gateway.policy.model import Purpose, Rules
from gateway.policy.scope import Item, Scope, flatten
from gateway.policy.sqltext import Edit, Text

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
            _HANDLERS["RangeVar"](self, node, scope)
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
        left = self.from_entry(node["larg"], scope, left_null)
        right = self.from_entry(node["rarg"], scope, right_null)
        added = left + right
        for name in node.get("usingClause", ()):
            self.column_ref([name["String"]["sval"]], scope)
        # An ON term on one input of an inner join, or on the nullable input of an outer
        # join, filters that input alone: a lookup there can move into its derived table.
        # (Only a relation joined directly: inside a nested outer join, filtering it first
        # would add null-extended rows.)
        left_rel = left if "RangeVar" in node["larg"] else []
        right_rel = right if "RangeVar" in node["rarg"] else []
        filtered = {"JOIN_INNER": left_rel + right_rel, "JOIN_LEFT": right_rel,
                    "JOIN_RIGHT": left_rel}
        Pushdown(self, scope).derived(node.get("quals"), filtered.get(kind, []))
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
        if treatment == "mask" and gateway_can_mask(self.rules.classes[class_name].mask,
                                                    item.column(column)):
            (item.passed if self.bare else item.used).add(column)
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


# Node type -> handler(analysis, node body, scope); filled by the handler modules.
_HANDLERS: dict[str, Any] = {}


def register(name: str):
    """Decorator adding a statement handler (used by the DML and utility module)."""
    def wrap(func):
        _HANDLERS[name] = func
        return func
    return wrap
