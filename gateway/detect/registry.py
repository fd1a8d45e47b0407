"""The recognizer registry: which entities exist, their presidio registry and their pre-filter."""

from __future__ import annotations

import re
from collections.abc import Iterable

from presidio_analyzer import RecognizerRegistry

from gateway.detect.recognizers import ALL, LANGUAGE, ChineseRecognizer
from gateway.detect.recognizers.base import REGEX_FLAGS

RECOGNIZERS: dict[str, type[ChineseRecognizer]] = {cls.ENTITY: cls for cls in ALL}
ENTITIES: tuple[str, ...] = tuple(RECOGNIZERS)


class UnknownEntity(ValueError):
    """An entity name no recognizer detects (a typo in a rules file's detect/scan)."""


def check_entities(entities: Iterable[str] | None) -> tuple[str, ...]:
    """The entities asked for (all when None), or UnknownEntity naming the first bad one."""
    if entities is None:
        return ENTITIES
    wanted = tuple(dict.fromkeys(entities))
    for entity in wanted:
        if entity not in RECOGNIZERS:
            raise UnknownEntity(f"unknown entity {entity!r}")
    return wanted


def build_registry(entities: Iterable[str] | None = None) -> RecognizerRegistry:
    """A presidio registry holding only our recognizers (nothing predefined, nothing to load)."""
    recognizers = [RECOGNIZERS[entity]() for entity in check_entities(entities)]
    return RecognizerRegistry(recognizers=recognizers, global_regex_flags=REGEX_FLAGS,
                              supported_languages=[LANGUAGE])


def prefilter(entities: Iterable[str] | None = None) -> re.Pattern[str]:
    """One regex that every normalised text holding any of `entities` matches somewhere."""
    fragments = [RECOGNIZERS[entity].PREFILTER for entity in check_entities(entities)]
    return re.compile("|".join(f"(?:{fragment})" for fragment in fragments))
