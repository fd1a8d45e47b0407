"""Masks as SQL expressions, so the database does the masking work in the rewrite."""

from __future__ import annotations

import hashlib

from gateway.policy.catalog import DATETIME, NUMERIC, TEXT, Column
from gateway.policy.model import ClassDef, Mask, Rules
from gateway.policy.sqltext import quote_ident, quote_literal

# Which column categories each mask fits (checked by `rules check --upstream`).
FITS: dict[str, frozenset[str]] = {
    "keep": frozenset({TEXT}),
    "name": frozenset({TEXT}),
    "email": frozenset({TEXT}),
    "scan": frozenset({TEXT}),
    "year": frozenset({DATETIME}),
    "redact": frozenset({TEXT}),
    "null": frozenset(),  # fits anything
    "hash": frozenset(),
}

# Entities found in free text, as PostgreSQL regular expressions (digits bounded by
# non-digits) and their lengths, longest first so a longer number is not cut by a shorter.
ENTITY_PATTERNS: dict[str, tuple[str, tuple[int, ...]]] = {
    "CN_ID_CARD": ("[0-9]{{17}}[0-9Xx]", (18,)),
    "CN_BANK_CARD": ("[0-9]{{{n}}}", (19, 18, 17, 16)),
    "CN_MOBILE": ("1[3-9][0-9]{{9}}", (11,)),
}
_EMAIL = r"([A-Za-z0-9])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})"


class MaskKeyMissing(Exception):
    """A hash mask is needed but no deployment key was configured."""


def fits(mask: Mask, column: Column) -> bool:
    """True when the mask applies to the column's type without changing its meaning."""
    allowed = FITS[mask.kind]
    return not allowed or column.category in allowed


def masked_expr(cls: ClassDef, column: Column, rules: Rules, key: bytes | None) -> str:
    """SQL computing the masked value of `column` (referenced by its name) for class `cls`."""
    ref = quote_ident(column.name)
    kind = cls.mask.kind
    if kind == "null":
        return f"NULL::{column.type}"
    if kind == "year":
        if column.category != DATETIME:
            return f"NULL::{column.type}"
        return f"date_trunc('year', {ref})::{column.type}"
    if kind == "hash":
        return _hash(ref, key)
    text = ref if column.is_text else f"{ref}::text"
    if kind == "redact":
        if not column.is_text:
            return f"NULL::{column.type}"  # a fixed text would change the column's type
        body = f"CASE WHEN {ref} IS NULL THEN NULL ELSE '***' END"
    elif kind == "scan":
        body = scan_expr(text, cls.scan, rules)
    else:
        body = text_mask(text, cls.mask)
    return _as_column_type(body, column) if column.is_text else body


def _as_column_type(body: str, column: Column) -> str:
    """The masked text typed like the column, without a length check per row (a mask keeps
    the length, and casting to varchar(n) would call a length coercion for every value)."""
    if column.type == "text":
        return body
    if column.type.startswith("character varying"):
        return f"({body})::varchar"
    if column.type.startswith("character"):
        return f"({body})::bpchar"
    return f"({body})::{column.type}"


def text_mask(ref: str, mask: Mask) -> str:
    """Masking of a text expression by a keep/name/email mask."""
    if mask.kind == "name":
        return f"left({ref}, 1) || repeat('*', greatest(length({ref}) - 1, 1))"
    if mask.kind == "email":
        at = f"strpos({ref}, '@')"
        return (f"CASE WHEN {at} > 1 THEN left({ref}, 1) || '***' || substr({ref}, {at}) "
                f"WHEN {ref} IS NULL THEN NULL ELSE '***' END")
    first, last, char = mask.keep_first, mask.keep_last, quote_literal(mask.char)
    shown = first + last
    # Values too short to keep anything are masked whole, never shown.
    return (f"CASE WHEN length({ref}) <= {shown} THEN repeat({char}, length({ref})) "
            f"ELSE left({ref}, {first}) || repeat({char}, length({ref}) - {shown}) "
            f"|| right({ref}, {last}) END")


def scan_expr(ref: str, entities: tuple[str, ...], rules: Rules) -> str:
    """Free text with each listed entity masked by the mask of the class detecting it."""
    expr = ref
    masks = {c.detect: c.mask for c in rules.classes.values() if c.detect}
    for entity in entities:
        mask = masks.get(entity, Mask("redact"))
        if entity == "EMAIL_ADDRESS":
            repl = r"\1***\2" if mask.kind == "email" else "***"
            expr = f"regexp_replace({expr}, {quote_literal(_EMAIL)}, {quote_literal(repl)}, 'g')"
            continue
        if entity not in ENTITY_PATTERNS:
            continue  # names and addresses are not found by patterns; see the result-stream scan
        pattern, lengths = ENTITY_PATTERNS[entity]
        for length in lengths:
            expr = _replace_run(expr, pattern, length, mask)
    return expr


def _replace_run(expr: str, pattern: str, length: int, mask: Mask) -> str:
    first = mask.keep_first if mask.kind == "keep" else 0
    last = mask.keep_last if mask.kind == "keep" else 0
    if first + last >= length:
        first = last = 0
    char = mask.char if mask.kind == "keep" else "*"
    body = pattern.format(n=length)
    # The entity must stand alone (no digit on either side); its kept ends are captured
    # and the middle becomes a run of mask characters. Lookahead groups do not capture.
    regex = (f"(^|[^0-9])(?={body}(?:[^0-9]|$))([0-9]{{{first}}})"
             f"[0-9Xx]{{{length - first - last}}}([0-9Xx]{{{last}}})")
    repl = r"\1\2" + char * (length - first - last) + r"\3"
    return f"regexp_replace({expr}, {quote_literal(regex)}, {quote_literal(repl)}, 'g')"


def _hash(ref: str, key: bytes | None) -> str:
    """HMAC-SHA256 of the text value under the deployment key, computed by the database."""
    if not key:
        raise MaskKeyMissing("the hash mask needs a deployment key")
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = bytes(b ^ 0x36 for b in key).hex()
    outer = bytes(b ^ 0x5C for b in key).hex()
    digest = (f"sha256('\\x{outer}'::bytea || sha256('\\x{inner}'::bytea "
              f"|| convert_to({ref}::text, 'UTF8')))")
    return f"CASE WHEN {ref} IS NULL THEN NULL ELSE 'h_' || left(encode({digest}, 'hex'), 16) END"


__all__ = ["NUMERIC", "MaskKeyMissing", "fits", "masked_expr", "scan_expr", "text_mask"]
