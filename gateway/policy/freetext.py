"""Masks applied in the gateway: the Python twins of masks.scan_expr and masks.text_mask.

Used when a rewrite leaves a masked column clear because it is only passed through to the
client: free text (Decision.scan_columns, `masker`) and whole values (mask_columns,
`column_masker`); each value is masked here before it is forwarded, with the same text
as the SQL would give.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from gateway.detect.checksums import id_card_valid, luhn_valid
from gateway.policy.model import Mask, Rules

# Digit entities are found as maximal runs of digits (one cheap pattern), then told apart
# by length and prefix; each test mirrors the SQL pattern of masks.ENTITY_PATTERNS.
_DIGIT_RUN = re.compile(r"[0-9]{11,}[Xx]?")
_DIGIT_ENTITIES: dict[str, Callable[[str], bool]] = {
    "CN_ID_CARD": lambda v: len(v) == 18 and v[:17].isdigit(),
    "CN_BANK_CARD": lambda v: 16 <= len(v) <= 19 and v.isdigit(),
    "CN_MOBILE": lambda v: len(v) == 11 and v[0] == "1" and v[1] in "3456789",
}
# The same entities with their check digits verified: for the result-stream check of
# computed columns, where a number that merely looks like one must not be taken for it.
_VALIDATED_ENTITIES: dict[str, Callable[[str], bool]] = {
    **_DIGIT_ENTITIES, "CN_ID_CARD": id_card_valid,
    "CN_BANK_CARD": lambda v: 16 <= len(v) <= 19 and v.isdigit() and luhn_valid(v),
}
# ... and only as a word of its own: a pseudonym or token such as h_b14748348559e84c holds
# digit runs that are nobody's number.
_VALIDATED_RUN = re.compile(r"(?<![0-9A-Za-z_])[0-9]{11,}[Xx]?(?![0-9A-Za-z_])")
PATTERN_ENTITIES = frozenset((*_DIGIT_ENTITIES, "EMAIL_ADDRESS"))
_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_ELEVEN_DIGITS = b"0" * 11
_ADDRESS_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
_EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def masker(entities: tuple[str, ...], rules: Rules,
           validated: bool = False) -> Callable[[str], str]:
    """A function masking the given entities in a text with their classes' masks (in the
    order listed, which is the order the SQL scan applies them); validated: only numbers
    whose check digits are right."""
    masks = {e: finding_mask(rules.mask_for(e), e) for e in entities}
    tests, runs = ((_VALIDATED_ENTITIES, _VALIDATED_RUN) if validated
                   else (_DIGIT_ENTITIES, _DIGIT_RUN))
    digit_tests = [(tests[e], column_masker(masks[e])) for e in entities if e in tests]
    email = column_masker(masks["EMAIL_ADDRESS"]) if "EMAIL_ADDRESS" in entities else None

    def digits(match: re.Match[str]) -> str:
        value = match.group()
        for test, replace in digit_tests:
            if test(value):
                return replace(value)
        if value[-1] in "Xx":  # the X did not make an ID number: mask the digits alone
            return digits_only(value[:-1]) + value[-1]
        return value

    def digits_only(value: str) -> str:
        for test, replace in digit_tests:
            if test(value):
                return replace(value)
        return value

    def mask(text: str) -> str:
        if digit_tests and runs.search(text):
            text = runs.sub(digits, text)
        if email is not None and "@" in text:
            text = _EMAIL.sub(lambda m: email(m.group()), text)
        return text

    if not validated:  # what it does, for the compiled DataRow path (datarows._patterns)
        mask.patterns = (  # type: ignore[attr-defined]
            tuple((e, masks[e]) for e in entities if e in tests),
            masks["EMAIL_ADDRESS"] if email is not None else None)
    return mask


def suspect(data: bytes, start: int, end: int) -> bool:
    """False when the masker can find nothing in data[start:end] (UTF-8): no run of 11
    digits and no e-mail address (a masked one, j***@example.com, has no address
    character before its @). A translation and substring searches: several times cheaper
    than a regular expression over every row."""
    if _ELEVEN_DIGITS in data[start:end].translate(_ZEROS):
        return True
    at = data.find(b"@", start, end)
    while at >= 0:
        if at > start and data[at - 1] in _ADDRESS_BYTES:
            return True
        at = data.find(b"@", at + 1, end)
    return False


# What finding_mask makes of the masks that do not fit a finding
_ALL_STARS, _REDACTED = Mask("keep"), Mask("redact")


def finding_mask(mask: Mask, entity: str) -> Mask:
    """The mask of one finding of `entity` in a text, from its class mask: an e-mail
    address keeps its first character and its domain under an email mask and is redacted
    under any other; anything else keeps what a keep mask keeps, or is starred whole."""
    if entity == "EMAIL_ADDRESS":
        return mask if mask.kind == "email" else _REDACTED
    return mask if mask.kind == "keep" else _ALL_STARS


def entity_mask(mask: Mask, entity: str) -> Callable[[str], str]:
    """The Python form of a class mask, applied to one finding of `entity`."""
    return column_masker(finding_mask(mask, entity))


@cache
def column_masker(mask: Mask) -> Callable[[str], str]:
    """The Python form of masks.text_mask: the masked value of a whole column value, for
    Decision.mask_columns (the same text as the SQL gives, counted in characters), and
    of one finding in a text (entity_mask). The function carries its mask as `.mask`
    (for the compiled DataRow path)."""
    if mask.kind == "keep":
        first, last, char = mask.keep_first, mask.keep_last, mask.char

        def masked(value: str) -> str:
            if first + last >= len(value):
                return char * len(value)
            return value[:first] + char * (len(value) - first - last) + value[len(value) - last:]
    elif mask.kind == "name":
        def masked(value: str) -> str:
            return value[:1] + "*" * max(len(value) - 1, 1)
    elif mask.kind == "email":
        def masked(value: str) -> str:
            at = value.find("@")
            return value[0] + "***" + value[at:] if at > 0 else "***"
    elif mask.kind == "redact":
        def masked(value: str) -> str:
            return "***"
    else:
        raise ValueError(f"the {mask.kind} mask is applied in SQL only")
    masked.mask = mask  # type: ignore[attr-defined]
    return masked
