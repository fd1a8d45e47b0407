"""Things refused whatever the purpose: server file and cross-database access, statistics
views that hold column values, query-text executors, and the gateway's own settings."""

from __future__ import annotations

from gateway.policy.decision import Refused

# Functions that read files, other databases, WAL, or run SQL given as text (bypassing
# the rewrite). Matched by unqualified name, any schema.
BLOCKED_FUNCTIONS = frozenset({
    "pg_read_file", "pg_read_binary_file", "pg_stat_file", "pg_file_write", "pg_file_read",
    "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
    "table_to_xml", "table_to_xmlschema", "table_to_xml_and_xmlschema",
    "schema_to_xml", "schema_to_xmlschema", "schema_to_xml_and_xmlschema",
    "database_to_xml", "database_to_xmlschema", "database_to_xml_and_xmlschema",
    "cursor_to_xml", "cursor_to_xmlschema", "ts_stat", "ts_rewrite",
    "pg_logical_slot_get_changes", "pg_logical_slot_peek_changes",
    "pg_logical_slot_get_binary_changes", "pg_logical_slot_peek_binary_changes",
    "pg_stat_get_activity", "pg_stat_statements", "loread", "lowrite",
    # page inspection reads raw table pages
    "get_raw_page", "heap_page_items", "tuple_data_split", "heap_page_item_attrs",
    # statement text as sent upstream: it carries lookup values and the pseudonym key pads
    "current_query", "pg_prepared_statement", "pg_cursor",
})
BLOCKED_FUNCTION_PREFIXES = ("lo_", "dblink", "pg_ls_", "pg_get_wal", "pg_stat_get_backend_")

# Relations whose rows carry column values or other sessions' statement text.
BLOCKED_RELATIONS = frozenset({
    "pg_stats", "pg_stats_ext", "pg_stats_ext_exprs", "pg_statistic", "pg_statistic_ext_data",
    "pg_stat_activity", "pg_stat_statements", "pg_largeobject", "pg_prepared_statements",
    "pg_cursors",
})

# Statements that define code or load libraries: their bodies cannot be verified.
CODE_STATEMENTS = {
    "DoStmt": "DO", "CreateFunctionStmt": "CREATE FUNCTION", "CreateTrigStmt": "CREATE TRIGGER",
    "RuleStmt": "CREATE RULE", "CreateEventTrigStmt": "CREATE EVENT TRIGGER",
    "CreatePLangStmt": "CREATE LANGUAGE", "LoadStmt": "LOAD", "CreateExtensionStmt":
    "CREATE EXTENSION", "AlterFunctionStmt": "ALTER FUNCTION", "CreateCastStmt": "CREATE CAST",
    "DefineStmt": "CREATE OPERATOR/AGGREGATE/TYPE", "CreateForeignTableStmt":
    "CREATE FOREIGN TABLE", "CreateForeignServerStmt": "CREATE SERVER", "CreateUserMappingStmt":
    "CREATE USER MAPPING", "ImportForeignSchemaStmt": "IMPORT FOREIGN SCHEMA",
    "CreateFdwStmt": "CREATE FOREIGN DATA WRAPPER", "AlterExtensionStmt": "ALTER EXTENSION",
}

# Settings the gateway owns, and settings that would make the server read SQL text
# differently from the analyser.
_OWN_PREFIXES = ("privacy.", "pgw.")
_FIXED = {"standard_conforming_strings": {"on", "true", "1", "yes"},
          "client_encoding": {"utf8", "utf-8", "unicode"}}


def check_function(name: str) -> None:
    """Refuse a call to a function that reads outside the rewritten query."""
    if name in BLOCKED_FUNCTIONS or name.startswith(BLOCKED_FUNCTION_PREFIXES):
        raise Refused(f"privacy gateway: function {name} is not allowed through the gateway")


def check_relation(relname: str) -> None:
    if relname in BLOCKED_RELATIONS:
        raise Refused(f"privacy gateway: relation {relname} is not allowed through the gateway")


def check_setting(name: str | None, value: str | None) -> None:
    """Refuse SET / set_config on the gateway's settings or on parser-relevant ones.

    `name` None means it could not be read from the statement (an expression)."""
    if name is None:
        raise Refused("privacy gateway: cannot verify set_config with a computed name")
    lowered = name.lower()
    if lowered.startswith(_OWN_PREFIXES):
        raise Refused(f"privacy gateway: {lowered} is set by the gateway "
                      "(use SET privacy.purpose through the gateway session)")
    allowed = _FIXED.get(lowered)
    if allowed is not None and (value is None or value.lower() not in allowed):
        raise Refused(f"privacy gateway: cannot verify statements with {lowered} changed")
