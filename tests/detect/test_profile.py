"""Column profiles -> proposed classes (pure, no database)."""

from __future__ import annotations

import pytest

from gateway.detect.profile import class_names, profile_rows, propose


def _propose(detector, name: str, values: list[str | None], type_: str = "text"):
    (profile,) = profile_rows([(name, type_)], [(v,) for v in values], detector)
    return propose(profile)


@pytest.mark.parametrize("name, values, kind", [
    ("phone", ["13812345678", "13912345678", None, "15012345678"], "CN_MOBILE"),
    ("kh_mc", ["张伟", "李娜", "王芳", "刘洋", "陈静"], "CN_PERSON_NAME"),
    ("remark", ["已解答", "客户手机13812345678请回电", "满意"], "FREE_TEXT"),
    ("status", ["成功", "成功", "失败", "成功"] * 10, None),  # few distinct values
    ("title", ["已解答", "满意"], None),
    ("birth_date", ["1990-01-01"], "BIRTH_DATE"),
    ("created_at", ["2024-01-01 10:00:00+00"], None),
])
def test_proposals(detector, name, values, kind):
    type_ = "date" if name.startswith(("birth", "created")) else "text"
    proposal = _propose(detector, name, values, type_)
    assert (proposal.kind if proposal else None) == kind


def test_mostly_values_of_one_entity_is_that_entity(detector):
    values = ["13812345678"] * 6 + ["未留"] * 4
    proposal = _propose(detector, "contact", values)
    assert (proposal.kind, proposal.hits, proposal.cells) == ("CN_MOBILE", 6, 10)


def test_class_names_follow_a_rules_file():
    names = class_names({"tel": {"detect": "CN_MOBILE"}, "memo": {"scan": ["CN_MOBILE"]},
                         "dob": {"mask": "year"}, "odd": None})
    assert (names["CN_MOBILE"], names["FREE_TEXT"], names["BIRTH_DATE"]) == ("tel", "memo", "dob")
    assert names["CN_ID_CARD"] == "id_card"
