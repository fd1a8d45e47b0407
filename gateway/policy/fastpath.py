"""A fast path for plain SELECTs that cannot reach classified data: scanned, not parsed.

Most statements of an application never touch a classified table. A statement made only
of allowlisted keywords, operators, constants and unquoted names, with no function call,
no cast, no quoted or escaped name, no system relation (pg_*, information_schema), and no
name of a classified table, of a child or view of one, is forwarded unchanged after a
token scan (a few µs) instead of a full parse and analysis. Anything else takes the full
path, which stays the judge of every statement that could matter.

Applications that put literals in the text send a new string for every call; their
statements are cached by literal shape (the text with its numbers and strings blanked),
so the scan runs once per shape rather than once per call.
"""

from __future__ import annotations

import re
from functools import partial

from pglast import parser

from gateway import compiled
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
# Texts that may not be shaped: double quotes, dollar quotes and parameters, backslash
# escapes, comments, '?' (our placeholder, and an operator) and non-ASCII. Without these,
# a quote always starts a string that the next quote ends (a doubled quote inside a
# string blanks as two strings side by side, which the server reads as one), and a digit
# run between non-word characters is a number: blanking strings to '?' and numbers to ?
# keeps every other token, and the kind of every constant, as it was.
_UNSHAPED = ('"', "$", "\\", "?", "--", "/*")
_STRING = re.compile(r"'[^']*'")
STRING_PLACE, NUMBER_PLACE = "'?'", "?"  # what a string and a number leave in a shape
_NUMBER = re.compile(r"\b[0-9]+\b", re.ASCII)
_LONGEST_SHAPED = 2048


def sensitive_names(rules: Rules, catalog: Catalog) -> frozenset[str]:
    """Lower-case relation names a statement must not mention to take the fast path."""
    relations = [*rules.tables, *catalog.tables, *catalog.children, *catalog.guarded]
    return frozenset(r.rpartition(".")[2].lower() for r in relations)


def python_literal_shape(sql: str) -> str | None:
    """sql with its literals blanked, or None when it is not safe to shape.

    Two texts with one shape lex to the same tokens but for the values of constants, so
    the fast path decides them alike. The reference for literals.literal_shape (compiled),
    which literal_shape is when it is built.
    """
    if len(sql) > _LONGEST_SHAPED or not sql.isascii():
        return None
    for unsafe in _UNSHAPED:  # str's own search: far quicker here than one regex
        if unsafe in sql:
            return None
    if "'" in sql:
        sql = _STRING.sub(STRING_PLACE, sql)
    return _NUMBER.sub(NUMBER_PLACE, sql)


_literals = compiled.load("gateway.policy.literals")
literal_shape = (partial(_literals.literal_shape, longest=_LONGEST_SHAPED)
                 if _literals is not None else python_literal_shape)


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
