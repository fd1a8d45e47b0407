"""Column profiling for discovery: what a column's sampled values hold, and which class fits."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gateway.detect.analyzer import Detector
from gateway.detect.recognizers.person_name import looks_like_name

# The class names of the rules format's example, used when no rules file is given.
DEFAULT_CLASSES: dict[str, str] = {
    "CN_PERSON_NAME": "person_name", "CN_MOBILE": "mobile", "CN_ID_CARD": "id_card",
    "CN_BANK_CARD": "bank_card", "EMAIL_ADDRESS": "email", "CN_ADDRESS": "address",
    "CN_LANDLINE": "landline", "CN_USCC": "uscc", "CN_PASSPORT": "passport",
    "CN_HK_MACAU_PERMIT": "hk_macau_permit", "CN_TAIWAN_PERMIT": "taiwan_permit",
    "CN_LICENSE_PLATE": "license_plate", "IP_ADDRESS": "ip_address",
    "BIRTH_DATE": "birth_date", "FREE_TEXT": "free_text",
}

# A column is of one entity when at least this share of its cells is that entity whole.
VALUE_SHARE = 0.5
# A finding "is" the cell when it covers this share of the cell's non-blank characters.
WHOLE_CELL = 0.9
_NAME_HINT = re.compile(r"name|姓名|名字|联系人|收件人|xm$|^xm|contact", re.IGNORECASE)
_BIRTH_HINT = re.compile(r"birth|dob|生日|出生|csrq", re.IGNORECASE)
_DATE_TYPES = ("date", "timestamp without time zone", "timestamp with time zone")


@dataclass
class ColumnProfile:
    """Counts gathered over one column's sample (no values are kept)."""

    name: str
    type: str
    cells: int = 0
    whole: Counter[str] = field(default_factory=Counter)  # entity -> cells it fills
    within: Counter[str] = field(default_factory=Counter)  # entity -> cells it appears in
    scores: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    any_hits: int = 0
    names: int = 0
    distinct: set[int] = field(default_factory=set)  # hashes, to tell names from codes

    def add(self, value: str, detector: Detector) -> None:
        """Account for one non-null sampled value (the column name is the context)."""
        self.cells += 1
        self.distinct.add(hash(value))
        if looks_like_name(value):
            self.names += 1
        found = detector.find(value, context=[self.name])
        if found:
            self.any_hits += 1
        filled = len(value.strip()) or 1
        for entity in {f.entity for f in found}:
            self.within[entity] += 1
        for f in found:
            self.scores[f.entity] += f.score
            if (f.end - f.start) / filled >= WHOLE_CELL:
                self.whole[f.entity] += 1


@dataclass(frozen=True)
class Proposal:
    """The class proposed for a column and the evidence, for the YAML comment."""

    column: str
    kind: str  # an entity name, BIRTH_DATE or FREE_TEXT
    confidence: float
    hits: int
    cells: int
    note: str = ""


def propose(profile: ColumnProfile) -> Proposal | None:
    """The class a column's profile supports, or None for no personal information."""
    if profile.type in _DATE_TYPES:
        if _BIRTH_HINT.search(profile.name):
            return Proposal(profile.name, "BIRTH_DATE", 0.8, profile.cells, profile.cells,
                            "column name and date type")
        return None
    if not profile.cells:
        return None
    entity, count = _top(profile.whole)
    if entity and count >= VALUE_SHARE * profile.cells:
        mean = profile.scores[entity] / max(profile.within[entity], 1)
        return Proposal(profile.name, entity, mean, count, profile.cells, entity)
    names = _name_proposal(profile)
    if names:
        return names
    if profile.any_hits:
        return _free_text(profile)
    return None


def _name_proposal(profile: ColumnProfile) -> Proposal | None:
    hinted = bool(_NAME_HINT.search(profile.name))
    share = profile.names / profile.cells
    varied = len(profile.distinct) >= min(profile.cells, 20) * 0.5
    if varied and share >= (0.5 if hinted else 0.8):
        confidence = round(min(0.99, share * (0.95 if hinted else 0.8)), 2)
        return Proposal(profile.name, "CN_PERSON_NAME", confidence, profile.names,
                        profile.cells, "surname check" + (" and column name" if hinted else ""))
    return None


def _free_text(profile: ColumnProfile) -> Proposal:
    total = sum(profile.within.values())
    mean = sum(profile.scores.values()) / max(total, 1)
    kinds = ", ".join(f"{e} {count / profile.cells:.0%}"
                      for e, count in profile.within.most_common())
    return Proposal(profile.name, "FREE_TEXT", mean, profile.any_hits, profile.cells,
                    f"scan: {kinds}")


def _top(counter: Counter[str]) -> tuple[str | None, int]:
    common = counter.most_common(1)
    return common[0] if common else (None, 0)


def class_names(rules_classes: Mapping[str, Mapping] | None) -> dict[str, str]:
    """Entity -> class name, from a rules file's `classes:` (detect/scan/mask year) if given."""
    names = dict(DEFAULT_CLASSES)
    for name, spec in (rules_classes or {}).items():
        if not isinstance(spec, Mapping):
            continue
        if isinstance(spec.get("detect"), str):
            names[spec["detect"]] = name
        elif spec.get("scan"):
            names["FREE_TEXT"] = name
        elif spec.get("mask") == "year":
            names["BIRTH_DATE"] = name
    return names


def profile_rows(columns: Iterable[tuple[str, str]], rows: Iterable[Iterable[str | None]],
                 detector: Detector) -> list[ColumnProfile]:
    """Profiles of `columns` (name, type) over sampled rows of text values."""
    profiles = [ColumnProfile(name, type_) for name, type_ in columns]
    for row in rows:
        for profile, value in zip(profiles, row, strict=True):
            if value is not None and profile.type not in _DATE_TYPES:
                profile.add(value, detector)
            elif value is not None:
                profile.cells += 1
    return profiles
