"""Statement fingerprint and literal-free text for audit records (pglast, cached)."""

from __future__ import annotations

import re
from functools import lru_cache

from pglast import parser

from gateway.audit.record import legible
from gateway.policy.fastpath import NUMBER_PLACE, STRING_PLACE

UNPARSED = "<not parsed>"
_SHAPES = 4096  # statement shapes (texts with their literals blanked) and texts kept
_TEXTS: dict[str, tuple[str, str]] = {}

# Plain integer and plain quoted-string literals, each a whole token of its own: not part
# of a name (t1), a parameter ($1), a number (1.5, 1e3) or a prefixed string (E'..', U&'..').
# Strings without quotes or backslashes inside, so the token ends at the next quote.
# Strings go first so that digits inside them stay part of the string. Each pattern
# starts with the character it looks for and checks the one before it afterwards (a
# leading lookbehind would be tried at every position: four times slower).
_STRING = re.compile(r"'(?<![\w&']')[^'\\]*'(?!')")
_INTEGER = re.compile(r"\d(?<![\w$.]\d)\d*(?![\w.])")
# What a literal leaves in a shape; NUL cannot occur in SQL text
_STRING_PLACE, _INTEGER_PLACE = "\0s\0", "\0i\0"
_PLACES = re.compile("\0([is])\0")
_POLICY_PLACES = re.compile("(" + re.escape(STRING_PLACE) + "|" + re.escape(NUMBER_PLACE) + ")")


def describe(sql: str, shape: str | None = None) -> tuple[str, str]:
    """(fingerprint, normalised text). Literals become $n, so no values reach the log.

    Text the parser rejects is never stored, nor a hash of it (a hash of a short value
    such as a mobile number can be reversed by trying every value).

    Statements sent with their literals inline (pgbench -S, simple Query) differ only in
    those literals: they share one parse through their shape, the policy's literal shape
    when the caller has it (its decision is shared by that shape: Decision.shape), else
    the one worked out here (see _by_shape).
    """
    if shape is not None:
        found = _by_policy_shape(shape)
        if found is not None:
            return found
    found = _TEXTS.get(sql)  # the same text again (a repeated or prepared statement)
    if found is not None:
        return found
    shape, strings = _STRING.subn(_STRING_PLACE, sql) if "'" in sql else (sql, 0)
    shape, integers = _INTEGER.subn(_INTEGER_PLACE, shape)
    found = _by_shape(shape) if strings or integers else None
    if found is None:
        found = _parse(sql)
    if len(_TEXTS) >= _SHAPES:
        _TEXTS.clear()
    _TEXTS[sql] = found
    return found


def _parse(sql: str) -> tuple[str, str]:
    try:
        return parser.fingerprint(sql), parser.normalize(sql)
    except parser.ParseError:
        return UNPARSED, UNPARSED
    except UnicodeEncodeError:  # bytes that are not UTF-8, kept as surrogates: as U+FFFD
        return _parse(legible(sql))


@lru_cache(maxsize=_SHAPES)
def _by_shape(shape: str) -> tuple[str, str] | None:
    """Fingerprint and text for every statement of this shape (see _shared), whose
    literals were blanked to _STRING_PLACE and _INTEGER_PLACE."""
    pieces = _PLACES.split(shape)
    return _shared(pieces[0::2], ["1" if p == "i" else "'x'" for p in pieces[1::2]])


@lru_cache(maxsize=_SHAPES)
def _by_policy_shape(shape: str) -> tuple[str, str] | None:
    """The same for a shape of fastpath.literal_shape (strings '?', numbers ?; a text
    with a ? of its own has none)."""
    pieces = _POLICY_PLACES.split(shape)
    return _shared(pieces[0::2], ["'x'" if p == STRING_PLACE else "1" for p in pieces[1::2]])


def _shared(texts: list[str], samples: list[str]) -> tuple[str, str] | None:
    """Fingerprint and text for every statement made of texts with a literal between
    each two, or None to parse each one.

    Parses one such statement (samples as its literals) and keeps the result only when
    normalising replaced exactly those literals, numbered in order: then the lexer saw
    each of them as one constant, and does for any other literals of the same kinds in
    the same places, which change neither the parse tree's form (the fingerprint
    ignores constants) nor the rest of the text.
    """
    sample = texts[0] + "".join(s + t for s, t in zip(samples, texts[1:], strict=True))
    expected = texts[0] + "".join(f"${i}{t}" for i, t in enumerate(texts[1:], 1))
    fingerprint, text = _parse(sample)
    return (fingerprint, text) if text == expected else None
