"""Statement fingerprint and literal-free text for audit records (pglast, cached)."""

from __future__ import annotations

from functools import lru_cache

from pglast import parser

UNPARSED = "<not parsed>"


@lru_cache(maxsize=4096)
def describe(sql: str) -> tuple[str, str]:
    """(fingerprint, normalised text). Literals become $n, so no values reach the log.

    Text the parser rejects is never stored, nor a hash of it (a hash of a short value
    such as a mobile number can be reversed by trying every value).
    """
    try:
        return parser.fingerprint(sql), parser.normalize(sql)
    except parser.ParseError:
        return UNPARSED, UNPARSED
