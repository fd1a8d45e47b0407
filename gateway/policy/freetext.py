"""Free-text columns masked in the gateway: the Python twin of masks.scan_expr.

Used when a rewrite leaves a free-text (`scan:`) column clear because it is only passed
through to the client (Decision.scan_columns); each value is masked here before it is
forwarded. The entities and masks are those of the SQL scan, so both give the same text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gateway.policy.model import Mask, Rules

# Digit entities are found as maximal runs of digits (one cheap pattern), then told apart
# by length and prefix; each test mirrors the SQL pattern of masks.ENTITY_PATTERNS.
_DIGIT_RUN = re.compile(r"[0-9]{11,}[Xx]?")
_DIGIT_ENTITIES: dict[str, Callable[[str], bool]] = {
    "CN_ID_CARD": lambda v: len(v) == 18 and v[:17].isdigit(),
    "CN_BANK_CARD": lambda v: 16 <= len(v) <= 19 and v.isdigit(),
    "CN_MOBILE": lambda v: len(v) == 11 and v[0] == "1" and v[1] in "3456789",
}
_EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def masker(entities: tuple[str, ...], rules: Rules) -> Callable[[str], str]:
    """A function masking the given entities in a text with their classes' masks (in the
    order listed, which is the order the SQL scan applies them)."""
    by_entity = {c.detect: c.mask for c in rules.classes.values() if c.detect}
    digit_tests = [(_DIGIT_ENTITIES[e], entity_mask(by_entity.get(e, Mask("redact")), e))
                   for e in entities if e in _DIGIT_ENTITIES]
    email = (entity_mask(by_entity.get("EMAIL_ADDRESS", Mask("redact")), "EMAIL_ADDRESS")
             if "EMAIL_ADDRESS" in entities else None)

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
        if digit_tests and _DIGIT_RUN.search(text):
            text = _DIGIT_RUN.sub(digits, text)
        if email is not None and "@" in text:
            text = _EMAIL.sub(lambda m: email(m.group()), text)
        return text

    return mask


def entity_mask(mask: Mask, entity: str) -> Callable[[str], str]:
    """The Python form of a class mask, applied to one finding of `entity`."""
    if entity == "EMAIL_ADDRESS":
        if mask.kind != "email":
            return lambda value: "***"
        return lambda value: value[0] + "***" + value[value.index("@"):]
    if mask.kind != "keep":
        return lambda value: "*" * len(value)
    first, last, char = mask.keep_first, mask.keep_last, mask.char

    def keep(value: str) -> str:
        if first + last >= len(value):
            return char * len(value)
        return value[:first] + char * (len(value) - first - last) + value[len(value) - last:]

    return keep
