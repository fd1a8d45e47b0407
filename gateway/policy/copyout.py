"""COPY ... TO STDOUT: whether its rows can carry the subject keys the session strips.

Text and CSV lines can: the key goes last, hex-encoded, so the session finds it after the
line's last delimiter whatever the other fields hold. Binary tuples can too: the key is
their last field. Options this does not know stay unattributed (the ledger has their row
count, not their customers).
"""

from __future__ import annotations

from typing import Any

from gateway.policy.decision import CopyLayout

_HEX = frozenset("0123456789abcdefABCDEF")
_NOT_DELIMITERS = _HEX | {"\r", "\n", "\\"}
# options that change how values are written, never where a line's last field starts
_HARMLESS = frozenset({"null", "force_quote", "escape", "encoding", "default"})
_TRUE = {"true", "on", "1", "yes"}


def copy_layout(options: list[dict] | None) -> CopyLayout | None:
    """The layout of the lines a COPY TO with these options writes, or None."""
    fmt, delimiter, quote, header = "text", None, '"', False
    for option in options or ():
        element = option.get("DefElem", {})
        name, arg = element.get("defname"), element.get("arg")
        if name == "format":
            fmt = _text(arg)
        elif name == "delimiter":
            delimiter = _text(arg)
        elif name == "quote":
            quote = _text(arg)
        elif name == "header":
            header = _truth(arg)
        elif name not in _HARMLESS:
            return None
    if fmt == "binary":  # delimiters, quotes and headers are errors in binary COPY
        return None if delimiter or header or quote != '"' else CopyLayout(b"", binary=True)
    if fmt not in ("text", "csv"):
        return None
    delimiter = delimiter or ("\t" if fmt == "text" else ",")
    if len(delimiter.encode()) != 1 or delimiter in _NOT_DELIMITERS \
            or len(quote.encode()) != 1 or quote in _HEX:
        return None
    return CopyLayout(delimiter.encode(), quote.encode() if fmt == "csv" else None, header)


def hex_key(expression: str) -> str:
    """SQL for a subject key as the session reads it from a COPY line."""
    return f"encode(convert_to(({expression})::text, 'UTF8'), 'hex')"


def _text(arg: Any) -> str:
    if isinstance(arg, dict) and "String" in arg:
        return arg["String"].get("sval", "")
    return "" if arg is None else "?"


def _truth(arg: Any) -> bool:
    if arg is None:
        return True  # HEADER alone
    if isinstance(arg, dict) and "Boolean" in arg:
        return bool(arg["Boolean"].get("boolval"))
    if isinstance(arg, dict) and "Integer" in arg:
        return bool(arg["Integer"].get("ival"))
    return _text(arg).lower() in _TRUE
