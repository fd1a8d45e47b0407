"""Free-text columns masked in the result stream with the detection module (presidio).

A rewrite that passes a free-text column through (Decision.scan_columns) leaves it to
the gateway: each value is scanned for the class's entities and every finding is masked
with the mask of the class that detects that entity (a redaction when none does).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gateway.detect.registry import ENTITIES
from gateway.detect.scan import TextScanner, shared_detector
from gateway.policy.freetext import entity_mask, masker
from gateway.policy.model import Mask, Rules


def text_masker(entities: tuple[str, ...], rules: Rules) -> Callable[[str], str]:
    """A str -> str function masking the entities' findings inside a text.

    Entities the detection module knows go through its scanner (checksums, context,
    names and addresses); then the policy's pattern masker, the same the SQL scan uses,
    masks what looks like a number or address of the entities even when it fails a
    check (an unassigned mobile prefix is still someone's number): the union of both.
    """
    by_entity = {c.detect: c.mask for c in rules.classes.values() if c.detect}
    known = tuple(e for e in entities if e in ENTITIES)
    masks = {e: entity_mask(by_entity.get(e, Mask("redact")), e) for e in known}
    scanner = TextScanner(known, masks) if known else None
    fallback = masker(entities, rules)

    def mask(text: str) -> str:
        if scanner is not None:
            text = scanner.scan(text) or text
        return fallback(text)

    return mask


def warm_up() -> None:
    """Build the shared detector now (at start), not on the first free-text cell."""
    logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)  # one line per recognizer
    shared_detector()
