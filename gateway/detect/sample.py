"""Reading the upstream catalog and sampling rows for discovery (asyncpg, read-only)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import asyncpg

# Schemas that never hold customer data, and the gateway's own state.
_SKIP_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast", "privacy_gateway")
# Column types that cannot carry personal information as text.
_SKIP_TYPES = ("boolean", "bytea", "uuid", "oid", "tsvector", "point", "box")

_TABLES = """
SELECT c.oid, n.nspname, c.relname, greatest(c.reltuples, -1)::bigint AS estimate
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
  AND n.nspname <> ALL($1::text[]) AND n.nspname NOT LIKE 'pg_temp%'
  AND has_table_privilege(c.oid, 'SELECT')
ORDER BY n.nspname, c.relname
"""
_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type
FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
_KEYS = """
SELECT con.contype::text AS contype, a.attname, fn.nspname || '.' || fc.relname AS target
FROM pg_constraint con
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.conrelid = $1 AND con.contype IN ('p', 'f') AND cardinality(con.conkey) = 1
"""


# libpq key=value connection strings ("host=h dbname=d"), values optionally 'quoted'.
_KEYWORD = re.compile(r"\s*(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']+)")
_KEYWORD_ARGS = {"host": "host", "hostaddr": "host", "port": "port", "user": "user",
                 "password": "password", "dbname": "database", "sslmode": "ssl"}


def connect_args(dsn: str) -> dict[str, Any]:
    """asyncpg.connect arguments for a URL or a libpq key=value connection string."""
    if dsn.startswith(("postgresql://", "postgres://")):
        return {"dsn": dsn}
    args: dict[str, Any] = {}
    position = 0
    for match in _KEYWORD.finditer(dsn):
        if match.start() != position:
            break
        key, value = match.group(1), match.group(2)
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        if key in _KEYWORD_ARGS:
            args[_KEYWORD_ARGS[key]] = int(value) if key == "port" else value
        position = match.end()
    if position != len(dsn.rstrip()) or not args:
        raise ValueError("invalid DSN: expected a postgresql:// URL or key=value pairs")
    return args


@dataclass
class Table:
    """A table to sample: name, columns (name, type), keys, size estimate."""

    oid: int
    schema: str
    name: str
    estimate: int
    columns: list[tuple[str, str]]
    primary_key: str | None
    foreign_keys: dict[str, str]  # column -> referenced schema.table

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


async def list_tables(conn: asyncpg.Connection, schemas: list[str] | None = None) -> list[Table]:
    """The tables the connection may read, with their sampleable columns and keys."""
    tables = []
    for row in await conn.fetch(_TABLES, list(_SKIP_SCHEMAS)):
        if schemas and row["nspname"] not in schemas:
            continue
        columns = [(r["attname"], r["type"]) for r in await conn.fetch(_COLUMNS, row["oid"])
                   if r["type"] not in _SKIP_TYPES]
        keys = await conn.fetch(_KEYS, row["oid"])
        primary = next((k["attname"] for k in keys if k["contype"] == "p"), None)
        foreign = {k["attname"]: k["target"] for k in keys if k["contype"] == "f"}
        tables.append(Table(row["oid"], row["nspname"], row["relname"], row["estimate"],
                            columns, primary, foreign))
    return tables


def sample_query(table: Table, limit: int) -> str:
    """SELECT of every column as text: TABLESAMPLE for big tables, else the first rows."""
    columns = ", ".join(f"{_ident(name)}::text" for name, _ in table.columns)
    source = f"{_ident(table.schema)}.{_ident(table.name)}"
    if table.estimate > 10 * limit:
        # SYSTEM samples whole pages: cheap on large tables; ask for three times the rows.
        percent = min(100.0, 300.0 * limit / table.estimate)
        source += f" TABLESAMPLE SYSTEM ({percent:.6f})"
    return f"SELECT {columns} FROM {source} LIMIT {int(limit)}"


async def sample_rows(conn: asyncpg.Connection, table: Table, limit: int) -> list[tuple]:
    """Up to `limit` rows of `table`, every value as text (or None)."""
    if not table.columns:
        return []
    rows = await conn.fetch(sample_query(table, limit))
    if len(rows) < limit // 2 and table.estimate > 10 * limit:
        # Page sampling can come back short on a table with many empty pages.
        rows = await conn.fetch(sample_query(_small(table), limit))
    return [tuple(row) for row in rows]


def _small(table: Table) -> Table:
    return Table(table.oid, table.schema, table.name, 0, table.columns, table.primary_key,
                 table.foreign_keys)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
