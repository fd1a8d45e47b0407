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


# Masks the gateway can apply itself to a value only passed through to the client, with the
# same result as text_mask (freetext.column_masker): on columns of type text or varchar,
# whose text and binary forms are the same UTF-8 bytes (char(n) pads, and length() does
# not count the padding). A free-text scan has its own maskers (Decision.scan_columns).
_GATEWAY_MASKS = frozenset({"keep", "name", "email", "redact"})


def gateway_can_mask(mask: Mask, column: Column | None) -> bool:
    """True when the gateway may mask `column` in the result stream instead of SQL."""
    if mask.kind == "scan":
        return True
    return (mask.kind in _GATEWAY_MASKS and column is not None
            and (column.type == "text" or column.type.startswith("character varying")))


def null_of(column: Column) -> str:
    """A NULL of the column's own type, without naming the type (no search_path lookup)."""
    return f"CASE WHEN false THEN {quote_ident(column.name)} END"


# Every function and operator below is schema-qualified: a client may reorder search_path,
# and an exact-match function elsewhere on it would otherwise win over pg_catalog's.
_STARS = "'***'::pg_catalog.text"
_YEAR = "'year'::pg_catalog.text"


def _f(name: str, *args: str) -> str:
    return f"pg_catalog.{name}({', '.join(args)})"


def _cat(*parts: str) -> str:
    expr = parts[0]
    for part in parts[1:]:
        expr = _f("textcat", expr, part)
    return expr


def masked_expr(cls: ClassDef, column: Column, rules: Rules, key: bytes | None) -> str:
    """SQL computing the masked value of `column` (referenced by its name) for class `cls`."""
    ref = quote_ident(column.name)
    kind = cls.mask.kind
    if kind == "null":
        return null_of(column)
    if kind == "year":
        return _year(ref, column)
    if kind == "hash":
        return _hash(ref, key)
    if kind == "redact" and not column.is_text:
        return null_of(column)  # a fixed text would change the column's type
    text = ref if column.is_text else f"{ref}::pg_catalog.text"
    if kind == "redact":
        body = f"CASE WHEN {ref} IS NULL THEN NULL ELSE {_STARS} END"
    elif kind == "scan":
        body = closed_scan_expr(text, cls.scan, rules)
    else:
        body = text_mask(text, cls.mask)
    return _as_column_type(body, column) if column.is_text else body


def _year(ref: str, column: Column) -> str:
    if column.type == "date":
        # January 1st of the date's year, built directly: date_trunc would go through a
        # timestamptz in the session's time zone and back, three times the cost per row;
        # infinite dates have no year and stay as they are (as date_trunc leaves them)
        year = f"{_f('date_part', _YEAR, ref)}::pg_catalog.int4"
        return (f"CASE WHEN {_f('isfinite', ref)} THEN {_f('make_date', year, '1', '1')} "
                f"ELSE {ref} END")
    if column.type.startswith("timestamp"):
        return _f("date_trunc", _YEAR, ref)
    return null_of(column)


def _as_column_type(body: str, column: Column) -> str:
    """The masked text typed like the column, without a length check per row (a mask keeps
    the length, and casting to varchar(n) would call a length coercion for every value)."""
    if column.type.startswith("character varying"):
        return f"({body})::pg_catalog.varchar"
    if column.type.startswith("character"):
        return f"({body})::pg_catalog.bpchar"
    return body  # text, or a text-like type the masked text stands in for


def text_mask(ref: str, mask: Mask) -> str:
    """Masking of a text expression by a keep/name/email mask."""
    length = _f("length", ref)
    if mask.kind == "name":
        stars = _f("repeat", "'*'::pg_catalog.text", f"GREATEST({_f('int4mi', length, '1')}, 1)")
        return _cat(_f("left", ref, "1"), stars)
    if mask.kind == "email":
        at = _f("strpos", ref, "'@'::pg_catalog.text")
        shown = _cat(_f("left", ref, "1"), _STARS, _f("substr", ref, at))
        return (f"CASE WHEN {_f('int4gt', at, '1')} THEN {shown} "
                f"WHEN {ref} IS NULL THEN NULL ELSE {_STARS} END")
    first, last = mask.keep_first, mask.keep_last
    char = f"{quote_literal(mask.char)}::pg_catalog.text"
    shown = first + last
    middle = _f("repeat", char, _f("int4mi", length, str(shown)))
    # Values too short to keep anything are masked whole, never shown.
    return (f"CASE WHEN {_f('int4le', length, str(shown))} THEN {_f('repeat', char, length)} "
            f"ELSE {_cat(_f('left', ref, str(first)), middle, _f('right', ref, str(last)))} END")


# Entities scanned together, each group behind one cheap test on the original text (an
# entity in the text passes its group's test; masking never creates a new one).
_SCAN_GROUPS = (
    (("CN_ID_CARD", "CN_BANK_CARD"), "'[0-9]{16}'"),
    (("CN_MOBILE",), "'1[3-9][0-9]{9}'"),
    (("EMAIL_ADDRESS",), "'@'"),
)


def scan_expr(ref: str, entities: tuple[str, ...], rules: Rules) -> str:
    """Free text with each listed entity masked by the mask of the class detecting it."""
    expr = ref
    for group, test in _SCAN_GROUPS:
        inner = expr
        for entity in (e for e in entities if e in group):
            mask = rules.mask_for(entity)
            if entity == "EMAIL_ADDRESS":
                inner = _email(inner, mask)
                continue
            pattern, lengths = ENTITY_PATTERNS[entity]
            for length in lengths:
                inner = _replace_run(inner, pattern, length, mask)
        if inner is not expr:
            guard = _f("textregexeq", ref, f"{test}::pg_catalog.text")
            expr = f"CASE WHEN {guard} THEN {inner} ELSE {expr} END"
    if expr is ref:
        return ref
    # and one test for them all: most texts hold nothing any entity pattern could match
    anything = _f("textregexeq", ref, "'[0-9]{11}|@'::pg_catalog.text")
    return f"CASE WHEN {anything} THEN {expr} ELSE {ref} END"


# What the patterns above cannot mask and the gateway's detector would look at (see
# session.freetext): eleven or more digits with separators between them or full-width
# ones, a mobile with its country code in front, an '@' outside an address the patterns
# masked. Separators as in freetext._RESIDUE.
_SEP = "[[:space:]－—.·/()（）-]"
_DIGIT = "[0-9０-９]"
_ELEVEN_DIGITS = f"{_DIGIT}(?:{_SEP}*{_DIGIT}){{10}}"
_SPLIT_NUMBER = (f"(?=(?:{_DIGIT}{_SEP}*){{10}}{_DIGIT})"  # eleven digits from here
                 f"[0-9]*(?:[０-９]|[0-9]{_SEP}+{_DIGIT})")  # not one plain run
_CODED_MOBILE = "(^|[^0-9])(00)?861[3-9][0-9]{9}([^0-9]|$)"
_NOT_PLAIN = f"[０-９]|[0-9]{_SEP}+{_DIGIT}|861[3-9]"
_BARE_AT = "[^*[:space:]]+@[^[:space:]]*"  # the masked address keeps a '*' before its '@'
_DIGITS = "0123456789０１２３４５６７８９"
_NUMBER_ENTITIES = frozenset(ENTITY_PATTERNS)
_SQL_FOUND = _NUMBER_ENTITIES | {"EMAIL_ADDRESS"}  # what the SQL scan can find at all


def unscannable_in_sql(entities: tuple[str, ...]) -> tuple[str, ...]:
    """The entities of a scan that only the gateway's detector finds (names, addresses)."""
    return tuple(e for e in entities if e not in _SQL_FOUND)


def closed_scan_expr(ref: str, entities: tuple[str, ...], rules: Rules) -> str:
    """scan_expr, failing closed where only the detector could tell: the SQL scan stands
    alone (in WHERE, ORDER BY, COPY, cursors ...), so a text that may still hold a
    number split by separators, in full-width digits or behind a country code has all
    its digits masked, and an '@' the address pattern left is masked with the words
    around it. Texts without eleven digits (separated or not) or an '@' pass one test.
    A scan for names or addresses cannot be done in SQL: such a text is not shown."""
    if unscannable_in_sql(entities):
        # names, addresses: only the detector finds them, and it cannot run in the
        # database; the text is not shown there (as a cell too long to scan is not, in
        # the gateway: session.freetext.REDACTED)
        shown = _cat("'[privacy gateway: '::pg_catalog.text",
                     f"{_f('length', ref)}::pg_catalog.text",
                     "' characters not shown]'::pg_catalog.text")
        return f"CASE WHEN {ref} IS NULL THEN NULL ELSE {shown} END"
    expr = scan_expr(ref, entities, rules)
    email = "EMAIL_ADDRESS" in entities
    if email:  # (run only behind the test below: an '@' or eleven digits)
        expr = _regexp(expr, _BARE_AT, "***")
    tests = [_SPLIT_NUMBER] if any(e in _NUMBER_ENTITIES for e in entities) else []
    if "CN_MOBILE" in entities:
        tests.append(_CODED_MOBILE)
    if tests:
        # the residue: every digit masked, addresses as the patterns and the '@' step do
        hidden = _regexp(_email(ref, rules.mask_for("EMAIL_ADDRESS")), _BARE_AT, "***") \
            if email else ref
        hidden = _f("translate", hidden, f"{quote_literal(_DIGITS)}::pg_catalog.text",
                    f"{quote_literal('*' * len(_DIGITS))}::pg_catalog.text")
        # first what the residue needs and plain numbers lack (a separator between
        # digits, a full-width digit, 86 before a mobile): a test without look-ahead
        residue = f"{_matches(ref, _NOT_PLAIN)} AND {_matches(ref, '|'.join(tests))}"
        expr = f"CASE WHEN {residue} THEN {hidden} ELSE {expr} END"
    # one cheap test first: no eleven digits (separators allowed) and no '@', no finding
    maybe = _matches(ref, _ELEVEN_DIGITS + "|@")
    return f"CASE WHEN {maybe} THEN {expr} ELSE {ref} END"


def _matches(ref: str, regex: str) -> str:
    return _f("textregexeq", ref, f"{quote_literal(regex)}::pg_catalog.text")


def _email(expr: str, mask: Mask) -> str:
    return _regexp(expr, _EMAIL, r"\1***\2" if mask.kind == "email" else "***")


def _regexp(expr: str, regex: str, replacement: str) -> str:
    return _f("regexp_replace", expr, f"{quote_literal(regex)}::pg_catalog.text",
              f"{quote_literal(replacement)}::pg_catalog.text", "'g'::pg_catalog.text")


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
    return _regexp(expr, regex, r"\1\2" + char * (length - first - last) + r"\3")


def _hash(ref: str, key: bytes | None) -> str:
    """HMAC-SHA256 of the text value under the deployment key, computed by the database."""
    if not key:
        raise MaskKeyMissing("the hash mask needs a deployment key")
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = _f("decode", f"'{bytes(b ^ 0x36 for b in key).hex()}'::pg_catalog.text",
               "'hex'::pg_catalog.text")
    outer = _f("decode", f"'{bytes(b ^ 0x5C for b in key).hex()}'::pg_catalog.text",
               "'hex'::pg_catalog.text")
    value = _f("convert_to", f"{ref}::pg_catalog.text", "'UTF8'::pg_catalog.name")
    digest = _f("sha256", _f("byteacat", outer, _f("sha256", _f("byteacat", inner, value))))
    token = _f("left", _f("encode", digest, "'hex'::pg_catalog.text"), "16")
    tagged = _cat("'h_'::pg_catalog.text", token)
    return f"CASE WHEN {ref} IS NULL THEN NULL ELSE {tagged} END"


__all__ = ["NUMERIC", "MaskKeyMissing", "closed_scan_expr", "fits", "masked_expr", "null_of",
           "scan_expr", "text_mask", "unscannable_in_sql"]
