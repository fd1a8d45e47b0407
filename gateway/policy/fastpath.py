"""A fast path for plain SELECTs that cannot reach classified data: scanned, not parsed.

Most statements of an application never touch a classified table. A statement made only
of allowlisted keywords, operators, constants and unquoted names, with no function call,
no cast, no quoted or escaped name, no system relation (pg_*, information_schema), and no
name of a classified table, of a child or view of one, is forwarded unchanged after a
token scan (a few µs) instead of a full parse and analysis. Anything else takes the full
path, which stays the judge of every statement that could matter.
"""

from __future__ import annotations

import re

from pglast import parser

from gateway.policy.catalog import Catalog
from gateway.policy.model import Rules

_KEYWORDS = frozenset({
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN_P", "IS", "NULL_P", "TRUE_P",
    "FALSE_P", "AS", "ORDER", "BY", "ASC", "DESC", "LIMIT", "OFFSET", "BETWEEN", "DISTINCT"})
_SYMBOLS = frozenset({
    "ASCII_61", "ASCII_60", "ASCII_62", "LESS_EQUALS", "GREATER_EQUALS", "NOT_EQUALS",
    "ASCII_44", "ASCII_40", "ASCII_41", "ASCII_46", "ASCII_42", "ASCII_43", "ASCII_45"})
_CONSTANTS = frozenset({"ICONST", "FCONST", "SCONST", "PARAM"})
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SYSTEM = ("pg_", "information_schema")


def sensitive_names(rules: Rules, catalog: Catalog) -> frozenset[str]:
    """Lower-case relation names a statement must not mention to take the fast path."""
    relations = [*rules.tables, *catalog.tables, *catalog.children, *catalog.guarded]
    return frozenset(r.rpartition(".")[2].lower() for r in relations)


def plain_select(sql: str, sensitive: frozenset[str]) -> bool:
    """True when sql is a plain SELECT that provably reads no classified data."""
    if "select" not in sql[:16].lower():
        return False
    try:
        tokens = parser.scan(sql)
    except Exception:  # noqa: BLE001 - the full path reports what does not scan
        return False
    if not tokens or tokens[0].name != "SELECT":
        return False
    last = len(tokens) - 1
    for i, token in enumerate(tokens):
        name = token.name
        if name in _KEYWORDS or name in _SYMBOLS or name in _CONSTANTS:
            continue
        if name == "ASCII_59" and i == last:  # one trailing semicolon
            continue
        if name != "IDENT" or not _plain_name(sql, token, sensitive):
            return False
        if i < last and tokens[i + 1].name == "ASCII_40":  # a function call
            return False
    return True


def _plain_name(sql: str, token: object, sensitive: frozenset[str]) -> bool:
    text = sql[token.start:token.end + 1]
    if not _PLAIN_NAME.fullmatch(text):
        return False  # quoted, escaped or non-ASCII: the full path reads it
    lowered = text.lower()
    return lowered not in sensitive and not lowered.startswith(_SYSTEM)
