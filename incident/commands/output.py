"""Printing results: aligned tables on a terminal, JSON for scripts."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any


def emit(data: Any, as_json: bool, text: str | None = None) -> None:
    """JSON when asked, else `text` (or a plain rendering of data)."""
    if as_json:
        print(json.dumps(data, default=_plain, ensure_ascii=False, indent=2))
    elif text is not None:
        print(text)
    else:
        print(data)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Columns aligned by display width (Chinese characters count two)."""
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([_width(c)] + [_width(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(_pad(c.upper(), w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(_pad(v, w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines) if rows else "(none)"


def pairs(items: Sequence[tuple[str, Any]]) -> str:
    width = max(_width(k) for k, _ in items)
    return "\n".join(f"{_pad(k, width)}  {_cell(v)}" for k, v in items)


def warn(message: str) -> None:
    print(message, file=sys.stderr)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value) or "-"
    return str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    return str(value)
