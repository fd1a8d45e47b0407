"""load_catalog on the CRM database: what the rewriter learns from pg_catalog."""

from __future__ import annotations

from gateway.policy.catalog import Catalog


def test_classified_tables_and_children(crm_catalog: Catalog) -> None:
    assert [c.name for c in crm_catalog.tables["public.orders"]] == [
        "id", "customer_id", "card_no", "total", "created_at"]
    phone = next(c for c in crm_catalog.tables["public.customers"] if c.name == "phone")
    assert (phone.type, phone.category) == ("character varying(20)", "S")
    assert crm_catalog.children == {"public.customers_vip": "public.customers"}
    assert crm_catalog.rules_table("public.customers_vip") == "public.customers"
    assert crm_catalog.tables["public.customers_vip"][-1].name == "tier"


def test_relations_reading_classified_tables_are_guarded(crm_catalog: Catalog) -> None:
    assert crm_catalog.guarded == {"public.customer_contacts": "public.customers",
                                   "public.people": "public.customers"}


def test_functions(crm_catalog: Catalog) -> None:
    assert "customer_phone" in crm_catalog.risky_functions
    assert "add_one" not in crm_catalog.risky_functions
    assert {"count", "string_agg"} <= crm_catalog.aggregates
    assert crm_catalog.search_path[0] == "pg_temp" and "public" in crm_catalog.search_path


def test_version_changes_with_content(crm_catalog: Catalog) -> None:
    other = Catalog(tables=dict(crm_catalog.tables), children={})
    assert other.version != crm_catalog.version
    assert crm_catalog.version == crm_catalog.version


def test_origin_of_result_columns(crm_catalog: Catalog) -> None:
    oid = next(o for o, name in crm_catalog.oids.items() if name == "public.customers_vip")
    phone = next(c for c in crm_catalog.tables["public.customers_vip"] if c.name == "phone")
    assert crm_catalog.origin(oid, phone.attnum) == ("public.customers", "phone")
    assert crm_catalog.origin(oid, 999) is None and crm_catalog.origin(1, 1) is None
