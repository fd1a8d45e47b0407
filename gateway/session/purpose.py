"""The purpose a session runs under: startup options, SET/SHOW/RESET privacy.purpose.

The gateway owns `privacy.purpose`; it is never forwarded upstream as such. Statements
about it are answered by sending upstream an equivalent harmless statement, so replies
keep their place among pipelined messages.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pglast import parser

from gateway.policy.model import Principal, Rules
from gateway.protocol.errors import GatewayError, error

PARAMETER = "privacy.purpose"
_RESERVED = ("privacy.", "privacy_gateway.")  # setting names only the gateway may touch


def split_options(options: str) -> list[str]:
    """Split a libpq `options` value on unescaped white space (backslash escapes)."""
    words, word, escaped = [], [], False
    for ch in options:
        if escaped:
            word.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch.isspace():
            if word:
                words.append("".join(word))
                word = []
        else:
            word.append(ch)
    if word:
        words.append("".join(word))
    return words


def _escape(word: str) -> str:
    return re.sub(r"([\s\\])", r"\\\1", word)


def take_purpose(params: dict[str, str]) -> tuple[str | None, dict[str, str]]:
    """(declared purpose, startup parameters to forward upstream without it)."""
    params = dict(params)
    purpose = params.pop(PARAMETER, None)
    words = split_options(params.pop("options", ""))
    kept: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        setting = None
        if word == "-c" and i + 1 < len(words):
            setting, i = words[i + 1], i + 2
        elif word.startswith("-c") or word.startswith("--"):
            setting, i = word[2:], i + 1
        else:
            kept.append(_escape(word))
            i += 1
            continue
        name, _, value = setting.partition("=")
        if name.lower().replace("-", "_") == PARAMETER:
            purpose = value
        elif not name.lower().startswith(_RESERVED):
            kept += ["-c", _escape(setting)]
    if kept:
        params["options"] = " ".join(kept)
    return purpose, params


def default_purpose(principal: Principal) -> str | None:
    """A principal with exactly one purpose gets it without declaring it."""
    return principal.purposes[0] if len(principal.purposes) == 1 else None


def check_purpose(rules: Rules, principal: Principal, purpose: str) -> GatewayError | None:
    """None when the principal may use the purpose, else the 42501 error to send."""
    if purpose not in rules.purposes:
        return error("insufficient_privilege", f'purpose "{purpose}" is not defined')
    if purpose not in principal.purposes:
        return error("insufficient_privilege",
                     f'purpose "{purpose}" is not allowed for principal "{principal.name}"')
    return None


@dataclass(frozen=True)
class PurposeStatement:
    """SET / RESET / SHOW of privacy.purpose; value is None for RESET and SHOW."""

    action: str  # 'set' | 'reset' | 'show'
    value: str | None = None


def mentions_reserved(sql: str) -> bool:
    """Cheap test before any parsing: only such text can be a purpose statement."""
    return "privacy" in sql.lower()


def parse_statement(sql: str) -> PurposeStatement | GatewayError | None:
    """The purpose statement in sql, an error for misuse of reserved settings, or None.

    None means: not about the gateway's settings (the policy layer judges the rest).
    """
    try:
        stmts = json.loads(parser.parse_sql_json(sql))["stmts"]
    except Exception:  # noqa: BLE001 - unparsable text is the policy layer's to refuse
        return None
    found = [_classify(s.get("stmt", {})) for s in stmts]
    hits = [f for f in found if f is not None]
    if not hits:
        return None
    if len(stmts) > 1:
        return error("feature_not_supported",
                     f"send statements about {PARAMETER} on their own, "
                     "not in a multi-statement string")
    return hits[0]


def _classify(stmt: dict) -> PurposeStatement | GatewayError | None:
    if "VariableShowStmt" in stmt:
        name = stmt["VariableShowStmt"].get("name", "")
        return PurposeStatement("show") if name == PARAMETER else _reserved(name)
    node = stmt.get("VariableSetStmt")
    if node is None:
        return None
    name = node.get("name", "")
    if name != PARAMETER:
        return _reserved(name)
    if node.get("is_local"):
        return error("feature_not_supported", f"{PARAMETER} cannot be set locally")
    if node.get("kind") in ("VAR_RESET", "VAR_SET_DEFAULT"):
        return PurposeStatement("reset")
    args = node.get("args", [])
    if node.get("kind") != "VAR_SET_VALUE" or len(args) != 1:
        return error("invalid_parameter_value", f"{PARAMETER} takes one purpose name")
    const = args[0].get("A_Const", {})
    value = const.get("sval", {}).get("sval")
    if value is None:
        return error("invalid_parameter_value", f"{PARAMETER} takes one purpose name")
    return PurposeStatement("set", value)


def _reserved(name: str) -> GatewayError | None:
    if name.lower().startswith(_RESERVED):
        return error("insufficient_privilege",
                     f'privacy gateway: setting "{name}" is reserved to the gateway')
    return None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def upstream_equivalent(stmt: PurposeStatement, purpose: str | None) -> str:
    """The statement sent upstream so the client gets a reply in order.

    SET and RESET close every cursor: one declared WITH HOLD under the old purpose would
    otherwise keep returning that purpose's view. The client still sees the tag it
    expects (see reply_tag).
    """
    if stmt.action == "show":
        return f'SELECT {_literal(purpose or "")}::text AS "{PARAMETER}"'
    return "CLOSE ALL"


def reply_tag(stmt: PurposeStatement) -> bytes | None:
    """The CommandComplete tag the client expects in place of the upstream one."""
    return {"set": b"SET\0", "reset": b"RESET\0"}.get(stmt.action)
