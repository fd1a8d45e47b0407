"""Properties of the rewrite over generated CRM-like statements (no database needed).

Whatever the spelling (quoting, schema, aliases, comments, joins, subqueries, lookups):
the decision is never an exception, the text sent still parses, and every reference to a
classified table left in it is the inside of a masking derived table.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from pglast.parser import parse_sql_json

from gateway.policy.rewrite import rewrite
from tests.policy.test_rewrite import CATALOG, RULES

CLASSIFIED = {"customers": len(CATALOG.tables["public.customers"]),
              "orders": len(CATALOG.tables["public.orders"])}

names = st.sampled_from(["customers", '"customers"', "public.customers", "public . customers",
                         'public."customers"', "public/* x */.customers", "CUSTOMERS"])
aliases = st.sampled_from(["", " c", " AS c", " c(i, n, p)", " \"C\""])
comments = st.sampled_from(["", " /* 注释 */", " -- note\n", "\n\t"])
values = st.sampled_from(["$1", "'13812345678'", "$2::text", "'张三'", "CAST($1 AS text)"])
conditions = st.sampled_from([
    "phone = {v}", "{v} = phone", "phone IN ({v}, '1')", "phone LIKE {v}", "id = 1",
    "phone = ANY(ARRAY[{v}])", "(phone = {v})", "id > 0 AND phone = {v}",
    "phone = {v} OR id = 2", "EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = id)",
    "id IN (SELECT customer_id FROM orders WHERE card_no = {v})",
])
outputs = st.sampled_from(["*", "id, name", "phone", "row_to_json({t})", "count(*)",
                           "lower(email) AS e", "(SELECT max(total) FROM orders)", "notes"])


@st.composite
def statements(draw) -> str:
    alias = draw(aliases)
    table = draw(names)
    named = alias.replace(" AS ", " ").strip().split("(")[0]
    entry = named or table.split(".")[-1].strip()
    output = draw(outputs).replace("{t}", entry)
    if "(i, n, p)" in alias:
        output = output.replace("phone", "p").replace("name", "n")
    where = draw(conditions).replace("{v}", draw(values))
    if "(i, n, p)" in alias:
        where = where.replace("phone", "p")
    join = draw(st.sampled_from(["", " JOIN orders o2 ON o2.customer_id = 1",
                                 " LEFT JOIN orders o3 ON true", ", LATERAL (SELECT 1) l"]))
    tail = draw(st.sampled_from(["", " ORDER BY 1", " LIMIT 5 OFFSET $3", " FOR UPDATE"]))
    return (f"SELECT{draw(comments)} {output} FROM {table}{alias}{join}"
            f"{draw(comments)} WHERE {where}{tail}")


def _derived_only(tree: object, inside_derived: bool = False) -> bool:
    """Every classified RangeVar is the only FROM entry of a full-width SELECT."""
    if isinstance(tree, list):
        return all(_derived_only(t, inside_derived) for t in tree)
    if not isinstance(tree, dict):
        return True
    select = tree.get("SelectStmt")
    if select is not None:
        entries = select.get("fromClause", [])
        width = len(select.get("targetList", []))
        derived = (len(entries) == 1 and "RangeVar" in entries[0]
                   and CLASSIFIED.get(entries[0]["RangeVar"]["relname"]) == width)
        return all(_derived_only(v, derived) for v in select.values())
    if "RangeVar" in tree and tree["RangeVar"]["relname"] in CLASSIFIED:
        return inside_derived
    return all(_derived_only(v, inside_derived) for v in tree.values())


@settings(max_examples=300, deadline=None)
@given(statements(), st.sampled_from(["customer_service", "risk_control", "account_admin"]))
def test_rewritten_text_parses_and_masks_every_reference(sql: str, purpose: str) -> None:
    decision = rewrite(sql, RULES.purposes[purpose], RULES, CATALOG, mask_key=b"k")
    if decision.refusal is not None:
        # only an outright policy reason, never a crash of the analysis
        assert decision.refusal.message.startswith("privacy gateway: "), decision.refusal
        assert "cannot verify this statement" not in decision.refusal.message, sql
        return
    tree = json.loads(parse_sql_json(decision.sql))
    assert _derived_only(tree), decision.sql


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gets_a_decision(text: str) -> None:
    decision = rewrite(text, RULES.purposes["customer_service"], RULES, CATALOG, mask_key=b"k")
    assert (decision.sql is None) == (decision.refusal is not None)
