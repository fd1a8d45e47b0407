"""Free-text columns masked in the result stream with the detection module (presidio).

A rewrite that passes a free-text column through (Decision.scan_columns) leaves it to
the gateway: each value is scanned for the class's entities and every finding is masked
with the mask of the class that detects that entity (a redaction when none does).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from gateway import compiled
from gateway.detect.registry import ENTITIES
from gateway.detect.scan import TextScanner, shared_detector
from gateway.policy.freetext import entity_mask, masker
from gateway.policy.model import Rules

# _residue in one compiled pass, several times faster (gateway/compiled.py)
_datarows = compiled.load("gateway.session.datarows")
_compiled_residue = _datarows.residue if _datarows is not None else None


def text_masker(entities: tuple[str, ...], rules: Rules) -> Callable[[str], str]:
    """A str -> str function masking the entities' findings inside a text.

    The policy's pattern masker (the one the SQL scan uses) goes first: it masks plain
    numbers and e-mail addresses even when they fail a check (an unassigned mobile
    prefix is still someone's number). The detection module's scanner (presidio, with
    checksums and context) then sees what the patterns cannot: digits split by spaces or
    dashes, full-width digits, unmasked addresses; for number and e-mail entities only
    values with such a residue reach it, since presidio costs about 100 µs a value.
    Names and addresses have no pattern floor, so their scanner sees every value.
    """
    known = tuple(e for e in entities if e in ENTITIES)
    masks = {e: entity_mask(rules.mask_for(e), e) for e in known}
    scanner = TextScanner(known, masks) if known else None
    fallback = masker(entities, rules)
    always = any(e not in _PATTERN_FLOOR for e in known)
    residue = _compiled_residue or _residue

    def mask(text: str) -> str:
        if not always and _NUMBER_OR_ADDRESS(text) is None:
            return text  # most texts: one search instead of the three below
        text = fallback(text)
        if scanner is not None and (always or residue(text)):
            if len(text) > MAX_SCANNED_CHARS:
                # presidio over a huge cell could hold the event loop for seconds; what
                # cannot be checked in bounded time is not shown (fail closed)
                return REDACTED.format(len(text))
            text = scanner.scan(text) or text
            text = _SPLIT_NUMBER.sub(_closed, text)  # what the detector let pass
        return text

    # The compiled DataRow path may skip a value whose bytes show none of what the first
    # line above looks for (datarows._may_hold_entity); not when every value is scanned.
    # Where the patterns come first, it runs them itself (fallback.patterns) and hands a
    # value here only when its residue check finds something for the scanner.
    mask.digit_gated = not always  # type: ignore[attr-defined]
    mask.patterns = (  # type: ignore[attr-defined]
        None if always else (*fallback.patterns, scanner is not None))
    return mask


# Cells longer than this that need the detector are redacted whole rather than scanned.
MAX_SCANNED_CHARS = 65536
REDACTED = "[privacy gateway: {} characters not shown]"
# Entities the pattern masker covers in their plain form.
_PATTERN_FLOOR = frozenset({"CN_MOBILE", "CN_ID_CARD", "CN_BANK_CARD", "EMAIL_ADDRESS"})
# What may stand between the digits of a number as people write it (masks._SEP in SQL).
_SEPARATOR = r"[\s\-－—.·/()（）]"
# What may still hide one of them after the patterns ran: seven or more digits (ASCII or
# full-width) with separators between them, or an e-mail address not masked yet.
_RESIDUE = re.compile(rf"[0-9０-９](?:{_SEPARATOR}*[0-9０-９]){{6,}}|[^*\s]@")
# Without a digit (ASCII or full-width) or an '@', a text holds none of the pattern
# entities nor a residue: the patterns and the residue check would each find nothing.
_NUMBER_OR_ADDRESS = re.compile(r"[0-9０-９@]").search
_SHORTEST_ENTITY_RUN = 11  # a mobile; ID and bank card numbers are longer


def _residue(text: str) -> bool:
    """True when text (its plain numbers and addresses masked) may still hold a number or
    an e-mail address: digits with separators or full-width ones, a run of eleven or more
    digits, an '@'. A run of seven to ten plain digits and nothing else (an order number,
    an amount) is none of them, and is not worth the detector's time."""
    found = _RESIDUE.search(text)  # most texts have none: no iterator for them
    while found is not None:
        value = found.group()
        if len(value) >= _SHORTEST_ENTITY_RUN or not (value.isascii() and value.isdigit()):
            return True
        found = _RESIDUE.search(text, found.end())
    return False


# Eleven or more digits, perhaps split, not next to a mask character (the kept digits of
# a number masked already): after the detector, what it did not take for a number (an
# unusual prefix written with separators, say) is masked digit by digit, as the SQL scan
# does on its own (masks.closed_scan_expr).
_SPLIT_NUMBER = re.compile(
    rf"(?<![*0-9０-９])[0-9０-９](?:{_SEPARATOR}*[0-9０-９]){{10,}}(?![*0-9０-９])")
_CODED_MOBILE = re.compile(r"(?:00)?861[3-9][0-9]{9}")
_STARS = str.maketrans("0123456789０１２３４５６７８９", "*" * 20)


def _closed(found: re.Match[str]) -> str:
    """A number found by _SPLIT_NUMBER, its digits masked unless it is one plain run."""
    value = found.group()
    if value.isascii() and value.isdigit() and _CODED_MOBILE.fullmatch(value) is None:
        return value  # one plain run: the patterns judged it (an order number, say)
    return value.translate(_STARS)


def warm_up() -> None:
    """Build the shared detector now (at start), not on the first free-text cell."""
    logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)  # one line per recognizer
    shared_detector()
