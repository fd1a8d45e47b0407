"""What the rewriter needs to know about the upstream database, and how to read it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from gateway.policy.model import Rules

# pg_type.typcategory values the masks care about.
TEXT, DATETIME, NUMERIC = "S", "D", "N"


@dataclass(frozen=True)
class Column:
    """One column of a classified table: name, SQL type as format_type() spells it, category."""

    name: str
    type: str
    category: str = TEXT  # pg_type.typcategory: S text, D date/time, N numeric, ...
    attnum: int = 0  # pg_attribute.attnum (what RowDescription names a column by)

    @property
    def is_text(self) -> bool:
        return self.category == TEXT


@dataclass(frozen=True)
class Catalog:
    """A snapshot of the upstream catalog, as far as classified tables are concerned.

    tables: 'schema.table' -> its columns in attnum order, for every classified table and
        every inheritance child or partition of one.
    children: 'schema.child' -> 'schema.parent' (the classified table whose rules apply).
    guarded: 'schema.relation' -> classified table it reads: views and materialized views
        (through other views too), inheritance parents, foreign tables naming one; reading
        one is refused.
    search_path: schemas unqualified names resolve in (pg_temp first when present).
    risky_functions: unqualified names of user functions that may read classified tables.
    aggregates: names of aggregate functions (any schema).
    """

    tables: dict[str, tuple[Column, ...]] = field(default_factory=dict)
    children: dict[str, str] = field(default_factory=dict)
    guarded: dict[str, str] = field(default_factory=dict)
    search_path: tuple[str, ...] = ("pg_temp", "public")
    risky_functions: frozenset[str] = frozenset()
    aggregates: frozenset[str] = frozenset()
    oids: dict[int, str] = field(default_factory=dict)  # pg_class oid -> 'schema.table'

    @property
    def version(self) -> str:
        """A digest of the content; part of the rewrite cache key."""
        return _digest(self)

    def columns(self, table: str) -> tuple[Column, ...] | None:
        return self.tables.get(table)

    def origin(self, table_oid: int, attnum: int) -> tuple[str, str] | None:
        """(rules table, column) a RowDescription field comes straight from, if classified
        territory: for the result-stream check of columns that bypassed the rewrite."""
        relation = self.oids.get(table_oid)
        if relation is None:
            return None
        for column in self.tables.get(relation, ()):
            if column.attnum == attnum:
                return self.rules_table(relation), column.name
        return None

    def rules_table(self, table: str) -> str:
        """The classified table whose rules apply to `table` (itself or its parent)."""
        return self.children.get(table, table)


def _digest(catalog: Catalog) -> str:
    cached = catalog.__dict__.get("_version")
    if cached is None:
        text = repr((sorted(catalog.tables.items()), sorted(catalog.children.items()),
                     sorted(catalog.guarded.items()), catalog.search_path,
                     sorted(catalog.risky_functions)))
        cached = hashlib.sha256(text.encode()).hexdigest()[:16]
        object.__setattr__(catalog, "_version", cached)
    return cached


# -- loading from PostgreSQL (asyncpg) ------------------------------------------------------

_COLUMNS = """
WITH RECURSIVE base AS (
    SELECT c.oid, n.nspname || '.' || c.relname AS name, n.nspname || '.' || c.relname AS rules
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname || '.' || c.relname = ANY($1::text[])
), tree AS (
    SELECT oid, name, rules FROM base
    UNION
    SELECT i.inhrelid, n.nspname || '.' || c.relname, tree.rules
    FROM tree JOIN pg_inherits i ON i.inhparent = tree.oid
    JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
)
SELECT tree.name, tree.rules, tree.oid, a.attnum, a.attname,
       format_type(a.atttypid, a.atttypmod) AS type, t.typcategory AS category
FROM tree JOIN pg_attribute a ON a.attrelid = tree.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
ORDER BY tree.name, a.attnum
"""

_VIEWS = """
WITH RECURSIVE protected AS (
    SELECT c.oid, n.nspname || '.' || c.relname AS source
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname || '.' || c.relname = ANY($1::text[])
), reads AS (
    SELECT r.ev_class AS oid, p.source
    FROM protected p JOIN pg_depend d ON d.refobjid = p.oid AND d.classid = 'pg_rewrite'::regclass
    JOIN pg_rewrite r ON r.oid = d.objid
    WHERE r.ev_class <> p.oid
    UNION
    SELECT r.ev_class, reads.source
    FROM reads JOIN pg_depend d ON d.refobjid = reads.oid AND d.classid = 'pg_rewrite'::regclass
    JOIN pg_rewrite r ON r.oid = d.objid
    WHERE r.ev_class <> reads.oid
)
SELECT DISTINCT n.nspname || '.' || c.relname AS name, reads.source
FROM reads JOIN pg_class c ON c.oid = reads.oid JOIN pg_namespace n ON n.oid = c.relnamespace
"""

_ANCESTORS = """
WITH RECURSIVE up AS (
    SELECT c.oid, n.nspname || '.' || c.relname AS source
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname || '.' || c.relname = ANY($1::text[])
    UNION
    SELECT i.inhparent, up.source FROM up JOIN pg_inherits i ON i.inhrelid = up.oid
)
SELECT DISTINCT n.nspname || '.' || c.relname AS name, up.source
FROM up JOIN pg_class c ON c.oid = up.oid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname || '.' || c.relname <> ALL($1::text[])
"""

_FOREIGN = """
SELECT n.nspname || '.' || c.relname AS name, array_to_string(f.ftoptions, ',') AS options
FROM pg_foreign_table f JOIN pg_class c ON c.oid = f.ftrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
"""

_FUNCTIONS = """
SELECT p.proname, p.prokind, l.lanname, p.prosrc,
       EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
               AND d.objid = p.oid AND d.deptype = 'e') AS from_extension
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') OR p.prokind = 'a'
"""

# Languages whose bodies can do anything; user functions in them are never trusted.
_OPAQUE_LANGUAGES = {"plpythonu", "plpython3u", "plperlu", "pltclu", "plv8", "plsh"}


async def load_catalog(conn: Any, rules: Rules) -> Catalog:
    """Read the catalog facts the rewriter needs through an asyncpg connection."""
    names = list(rules.tables)
    tables: dict[str, list[Column]] = {}
    children: dict[str, str] = {}
    oids: dict[int, str] = {}
    for row in await conn.fetch(_COLUMNS, names):
        tables.setdefault(row["name"], []).append(
            Column(row["attname"], row["type"], _category(row["category"]), row["attnum"]))
        oids[row["oid"]] = row["name"]
        if row["name"] != row["rules"]:
            children[row["name"]] = row["rules"]
    protected = names + list(children)
    guarded = {row["name"]: children.get(row["source"], row["source"])
               for row in await conn.fetch(_VIEWS, protected)}
    # parents of a classified table return its rows too
    for row in await conn.fetch(_ANCESTORS, protected):
        guarded.setdefault(row["name"], row["source"])
    relnames = {n.split(".", 1)[1]: children.get(n, n) for n in protected}
    for row in await conn.fetch(_FOREIGN):  # a foreign table may point back at one
        options = (row["options"] or "").lower()
        for relname, source in relnames.items():
            if relname.lower() in options:
                guarded.setdefault(row["name"], source)
    risky, aggregates = _functions(await conn.fetch(_FUNCTIONS), rules, children)
    search_path = tuple(await conn.fetchval("SELECT current_schemas(true)"))
    if "pg_temp" not in search_path:
        search_path = ("pg_temp", *search_path)
    return Catalog(tables={k: tuple(v) for k, v in tables.items()}, children=children,
                   guarded=guarded, search_path=search_path,
                   risky_functions=frozenset(risky), aggregates=frozenset(aggregates),
                   oids=oids)


def _category(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _functions(rows: list[Any], rules: Rules, children: dict[str, str]) -> tuple[set, set]:
    """Aggregate names, and user functions whose bodies may reach a classified table."""
    relnames = {name.split(".", 1)[1].lower() for name in (*rules.tables, *children)}
    risky: set[str] = set()
    aggregates: set[str] = set()
    for row in rows:
        name = row["proname"]
        if _category(row["prokind"]) == "a":
            aggregates.add(name)
            continue
        if row["from_extension"] and row["lanname"] in ("c", "internal"):
            continue  # extension code such as pgcrypto; dangerous ones are named in guards
        body = (row["prosrc"] or "").lower()
        if (row["lanname"] in _OPAQUE_LANGUAGES or row["lanname"] not in ("sql", "plpgsql")
                or "execute" in body or any(rel in body for rel in relnames)):
            risky.add(name)
    return risky, aggregates
