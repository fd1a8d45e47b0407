"""Decision columns to audit objects and TableUse, without I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from gateway.metering.bridge import classes, objects, table_uses


@dataclass(frozen=True)
class Col:  # the shape of gateway.policy.decision.ColumnDecision
    table: str
    column: str
    class_name: str
    treatment: str


COLUMNS = (Col("public.customers", "name", "person_name", "show"),
           Col("public.customers", "phone", "mobile", "mask"),
           Col("public.customers", "id_no", "id_card", "hide"),
           Col("public.orders", "card_no", "bank_card", "mask"))


def test_objects_group_by_table():
    assert objects(COLUMNS) == [
        {"table": "public.customers",
         "columns": {"name": "show", "phone": "mask", "id_no": "hide"}},
        {"table": "public.orders", "columns": {"card_no": "mask"}}]


def test_objects_json_is_canonical_and_cached():
    from gateway.metering.bridge import objects_json

    text = objects_json(COLUMNS)
    assert json.loads(text) == objects(COLUMNS) and objects_json(COLUMNS) is text


def test_hidden_is_neither_clear_nor_masked():
    assert classes(COLUMNS)["public.customers"] == (["person_name"], ["mobile"], 1)


def test_table_uses_for_rows_and_aggregates():
    uses = table_uses(COLUMNS, "rows", 3, {"public.customers": ["1", "2", "2"]},
                      {"public.customers": 1})
    customers = uses[0]
    assert (customers.rows, list(customers.subjects), customers.masked_cells,
            customers.canary_hits) == (3, ["1", "2", "2"], 3, 1)
    assert [u.aggregate for u in table_uses(COLUMNS, "aggregate", 1)] == [True, True]
    assert table_uses(COLUMNS, "none", 5) == []


def test_rules_inputs_from_the_shipped_rules_file():
    from gateway.metering.bridge import rules_inputs
    from gateway.policy.rules import load_rules

    rules_file = Path(__file__).parents[2] / "rules" / "customers.yaml"
    detection, limits, canaries = rules_inputs(load_rules(str(rules_file)))
    assert limits["customer_service"] == {"rows_per_query": 200, "subjects_per_hour": 500}
    assert canaries["public.customers"] and all(isinstance(c, str)
                                                for c in canaries["public.customers"])
    assert detection.get("canary").severity == "critical"
