"""Rules loading: the spec's example loads; each kind of mistake is a FILE:LINE: reason."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gateway.policy.rules import Mask, RulesError, load_rules, parse_rules

HERE = Path(__file__).parent
SPEC = HERE / "spec_rules.yaml"

BASE = """\
version: 1
classes:
  mobile: {mask: {keep_first: 3, keep_last: 4}}
  id_card: {mask: redact, sensitive: true}
  notes: {scan: [CN_MOBILE]}
tables:
  public.customers:
    subject: id
    columns: {phone: mobile, id_no: id_card}
purposes:
  service:
    show: []
    lookup: [mobile]
principals:
  app:
    password_env: APP_PASSWORD
    purposes: [service]
"""


def test_spec_example_loads() -> None:
    rules = load_rules(SPEC)
    assert rules.version == hashlib.sha256(SPEC.read_bytes()).hexdigest()
    assert rules.principals["crm_app"].purposes == ("customer_service",)
    service = rules.purposes["customer_service"]
    assert [service.treatment(c) for c in ("person_name", "mobile", "id_card", "email")] == [
        "show", "mask", "hide", "mask"]
    assert rules.purposes["marketing"].treatment("id_card") == "deny"
    assert rules.purposes["marketing"].consent_column == "marketing_opt_in"
    assert service.limits.rows_per_query == 200
    assert rules.classes["mobile"].mask == Mask("keep", keep_first=3, keep_last=4)
    assert rules.classes["free_text"].mask.kind == "scan"
    assert rules.tables["public.customers"].canaries == ("900001", "900002")
    assert rules.tables["public.customers"].retention.interval == "3 years"



CASES = [
    # (old text, new text, expected line, expected fragment)
    ("version: 1\n", "version: 1\ncolour: red\n", 2, "unknown key 'colour'"),
    ("  id_card: {mask: redact, sensitive: true}", "  id_card: {mask: blur}", 4,
     "unknown mask 'blur'"),
    ("  id_card: {mask: redact, sensitive: true}", "  id_card: {mask: redact, sensitive: 3}", 4,
     "sensitive must be"),
    ("  id_card: {mask: redact, sensitive: true}", "  id_card: {mask: redact, colour: 1}", 4,
     "unknown key 'colour'"),
    ("id_no: id_card}", "id_no: passport}", 9, "unknown class 'passport'"),
    ("    lookup: [mobile]", "    lookup: [mobile, fax]", 13, "unknown class 'fax'"),
    ("    show: []", "    show: [mobile]\n    hide: [mobile]", 13, "in both show and hide"),
    ("    show: []", "    deny: [mobile]", 13, "both denied and a lookup"),
    ("    purposes: [service]", "    purposes: [service, sales]", 17, "unknown purpose 'sales'"),
    ("    password_env: APP_PASSWORD\n", "", 15, "exactly one of password"),
    ("    show: []", "    show: []\n    write: [public.orders]", 13,
     "unknown table 'public.orders'"),
    ("    show: []", "    show: []\n    consent: public.orders.ok", 13, "consent"),
    ("    show: []", "    show: []\n    limits: {rows_per_query: 0}", 13, "rows_per_query"),
    ("    subject: id", "    subject: id\n    retention: {column: c, keep: forever}", 9,
     "retention keep"),
    ("  public.customers:", "  customers:", 7, "expected schema.table"),
    ("version: 1", "version: 2", 1, "unsupported version"),
    ("  mobile: {mask: {keep_first: 3, keep_last: 4}}",
     "  mobile: {mask: {keep_first: -1}}", 3, "keep_first"),
    ("  app:\n", "  app:\n    purposes: []\n", 18, "duplicate key 'purposes'"),
    ("    subject: id", "    subject: id\n  x: [", 11, "invalid YAML"),
]


@pytest.mark.parametrize(("old", "new", "line", "fragment"), CASES)
def test_problem_names_file_line_and_reason(old: str, new: str, line: int, fragment: str) -> None:
    assert old in BASE
    with pytest.raises(RulesError) as caught:
        parse_rules(BASE.replace(old, new, 1), "r.yaml")
    assert any(p.startswith(f"r.yaml:{line}: ") and fragment in p for p in caught.value.problems), \
        caught.value.problems


def test_all_problems_are_reported_at_once() -> None:
    text = BASE.replace("id_no: id_card}", "id_no: passport}")
    text = text.replace("version: 1\n", "version: 1\nx: 1\n")
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "r.yaml")
    assert len(caught.value.problems) == 2


def test_missing_file_is_a_rules_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as caught:
        load_rules(tmp_path / "none.yaml")
    assert caught.value.problems[0].startswith(str(tmp_path / "none.yaml") + ":0: ")
