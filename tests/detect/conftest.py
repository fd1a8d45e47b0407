"""Fixtures for the detection tests: one shared detector over all entities."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.detect.analyzer import Detector


@pytest.fixture(scope="session")
def detector() -> Detector:
    return Detector()


@pytest.fixture(scope="session")
def find_entity(detector: Detector) -> Callable[[str, str], list[str]]:
    """Texts of the findings of one entity, after all recognizers competed for the text."""

    def find(text: str, entity: str, context: list[str] | None = None) -> list[str]:
        return [text[f.start:f.end] for f in detector.find(text, context) if f.entity == entity]

    return find
