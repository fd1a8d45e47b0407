"""SQL text helpers: quoting, the token stream of a statement, and splicing edits into it."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

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
        """Index of the token starting at byte... character position `pos`."""
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
