"""SQL text helpers: quoting, the token stream of a statement, and splicing edits into it."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pglast.parser import scan

_COMMENTS = {"SQL_COMMENT", "C_COMMENT"}
# Tokens that end a WHERE conjunct when met outside parentheses.
_CONJUNCT_END = {
    "AND", "OR", "GROUP_P", "HAVING", "WINDOW", "ORDER", "LIMIT", "OFFSET", "FETCH", "FOR",
    "UNION", "INTERSECT", "EXCEPT", "RETURNING", "ASCII_59",
}


def quote_ident(name: str) -> str:
    """A double-quoted identifier (always quoted: exact case, never a keyword clash)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A string literal read the same whatever standard_conforming_strings says."""
    if "\\" in value:
        return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] with `text` (end exclusive)."""

    start: int
    end: int
    text: str


class Tokens:
    """The statement's tokens without comments, searchable by start position."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.items = [t for t in scan(sql) if t.name not in _COMMENTS]
        self.starts = [t.start for t in self.items]

    def index_at(self, pos: int) -> int:
        """Index of the token starting at character position `pos`."""
        i = bisect_left(self.starts, pos)
        if i >= len(self.items) or self.items[i].start != pos:
            raise LookupError(pos)
        return i

    def index_before(self, pos: int) -> int:
        """Index of the last token starting before `pos` (-1 when none)."""
        return bisect_left(self.starts, pos) - 1

    def name(self, i: int) -> str:
        return self.items[i].name if 0 <= i < len(self.items) else ""

    def end(self, i: int) -> int:
        """Exclusive end position of token i."""
        return self.items[i].end + 1

    def name_end(self, pos: int, parts: int) -> int:
        """End of a dotted name of `parts` parts starting at `pos`."""
        i = self.index_at(pos) + 2 * (parts - 1)
        return self.end(i)

    def conjunct_end(self, pos: int) -> int:
        """End of the expression starting at `pos` that is one conjunct of a WHERE clause."""
        depth = 0
        last = self.index_at(pos)
        for i in range(last, len(self.items)):
            name = self.items[i].name
            if depth == 0 and (name in _CONJUNCT_END or name == "ASCII_41"):
                break
            if name == "ASCII_40":
                depth += 1
            elif name == "ASCII_41":
                depth -= 1
            last = i
        return self.end(last)

    def keyword_before(self, pos: int, keyword: str) -> int | None:
        """Start of the nearest `keyword` token before `pos`."""
        for i in range(self.index_before(pos), -1, -1):
            if self.items[i].name == keyword:
                return self.items[i].start
        return None

    def keyword_after(self, pos: int, keyword: str) -> int | None:
        """Start of the first `keyword` token at or after `pos`, outside parentheses."""
        depth = 0
        for i in range(bisect_left(self.starts, pos), len(self.items)):
            name = self.items[i].name
            if name == keyword and depth == 0:
                return self.items[i].start
            depth += (name == "ASCII_40") - (name == "ASCII_41")
        return None


def apply_edits(sql: str, edits: list[Edit]) -> str:
    """The text with every edit applied (edits must not overlap)."""
    out: list[str] = []
    pos = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < pos:
            raise ValueError("overlapping edits")
        out.append(sql[pos:edit.start])
        out.append(edit.text)
        pos = edit.end
    out.append(sql[pos:])
    return "".join(out)


class Text:
    """The SQL text, with byte offsets (from the parser) mapped to character offsets."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self._tokens: Tokens | None = None
        self._utf8 = None if sql.isascii() else sql.encode("utf-8")

    def pos(self, location: int) -> int:
        if self._utf8 is None:
            return location
        # parser locations fall on character boundaries, so the prefix decodes exactly
        return len(self._utf8[:location].decode("utf-8"))

    @property
    def tokens(self) -> Tokens:
        if self._tokens is None:
            self._tokens = Tokens(self.sql)
        return self._tokens

    def name_end(self, pos: int, rv: dict[str, Any]) -> int:
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
