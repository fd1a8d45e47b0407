"""Load and validate a purpose rules file; every problem is reported as FILE:LINE: reason."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import yaml

from gateway.policy.model import (
    NAMED_MASKS,
    ClassDef,
    Limits,
    Mask,
    Principal,
    Purpose,
    Retention,
    Rules,
    TableDef,
)
from gateway.policy.yamlnodes import Loader, NodeReader

__all__ = [
    "ClassDef", "Limits", "Mask", "Principal", "Purpose", "Retention", "Rules", "RulesError",
    "TableDef", "load_rules", "parse_rules",
]

TOP_KEYS = {"version", "classes", "tables", "purposes", "principals", "detection"}
CLASS_KEYS = {"detect", "mask", "scan", "sensitive", "description"}
TABLE_KEYS = {"subject", "columns", "canaries", "retention", "description"}
PURPOSE_KEYS = {"description", "show", "hide", "lookup", "deny", "write", "consent", "limits"}
PRINCIPAL_KEYS = {"password", "password_env", "purposes", "description"}
KEEP_KEYS = {"keep_first", "keep_last", "char"}
LIMIT_KEYS = {"rows_per_query", "subjects_per_hour"}
RETENTION_KEYS = {"column", "keep"}
TREATMENT_LISTS = ("show", "hide", "deny")

_KEEP_RE = re.compile(r"^\s*(\d+)\s*(y|years?|mo|months?|w|weeks?|d|days?|h|hours?)\s*$")
_UNITS = {"y": "years", "mo": "months", "w": "weeks", "d": "days", "h": "hours"}
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


class RulesError(Exception):
    """The rules file is invalid; `problems` lists 'FILE:LINE: reason' lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_rules(path: str | Path) -> Rules:
    """Read and validate a rules file (RulesError on any problem)."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise RulesError([f"{file}:0: cannot read ({exc.strerror})"]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RulesError([f"{file}:0: not UTF-8 text"]) from None
    return parse_rules(text, str(file))


def parse_rules(text: str, filename: str) -> Rules:
    """Validate rules given as text; `filename` is used in problem lines."""
    return _Parser(filename).parse(text)


class _Parser(NodeReader):
    """One validation pass: collects every problem instead of stopping at the first."""

    def parse(self, text: str) -> Rules:
        try:
            root = yaml.compose(text, Loader=Loader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 0
            raise RulesError([f"{self.filename}:{line}: invalid YAML"]) from None
        if root is None:
            raise RulesError([f"{self.filename}:1: empty rules file"])
        top = self.mapping(root, "rules file", TOP_KEYS)
        version = top.get("version")
        if version is None:
            self.problem(root, "missing key 'version'")
        elif self.scalar(version) not in (1, "1"):
            self.problem(version, "unsupported version (expected 1)")
        classes = self.classes(top.get("classes"))
        tables = self.tables(top.get("tables"), classes)
        purposes = self.purposes(top.get("purposes"), classes, tables)
        principals = self.principals(top.get("principals"), purposes)
        if self.problems:
            raise RulesError(self.problems)
        detection = top.get("detection")
        return Rules(
            classes=classes, tables=tables, purposes=purposes, principals=principals,
            version=hashlib.sha256(text.encode("utf-8")).hexdigest(), source=self.filename,
            detection=self.plain(detection) if detection is not None else None,
            lines=self.lines,
        )

    # -- sections -----------------------------------------------------------------------

    def classes(self, node: yaml.Node | None) -> dict[str, ClassDef]:
        out: dict[str, ClassDef] = {}
        for name, (key_node, value) in self.named(node, "classes").items():
            what = f"class {name!r}"
            fields = self.mapping(value, what, CLASS_KEYS)
            scan = tuple(v for v, _ in self.string_list(fields.get("scan"), f"{what}: scan"))
            sensitive = self.scalar(fields["sensitive"]) if "sensitive" in fields else False
            if not isinstance(sensitive, bool):
                self.problem(fields["sensitive"], f"{what}: sensitive must be true or false")
                sensitive = False
            # a free-text class without a mask of its own masks what its scan finds
            mask = self.mask(fields.get("mask"), what, default="scan" if scan else "redact")
            if mask is None:  # already reported; keep the class to avoid follow-on problems
                mask = Mask("redact")
            self.lines[f"classes.{name}"] = key_node.start_mark.line + 1
            out[name] = ClassDef(name=name, mask=mask,
                                 detect=self.string(fields.get("detect"), f"{what}: detect"),
                                 scan=scan, sensitive=sensitive)
        return out

    def mask(self, node: yaml.Node | None, what: str, default: str) -> Mask | None:
        if node is None:
            return Mask(default)
        if isinstance(node, yaml.ScalarNode):
            kind = "null" if node.tag.endswith(":null") else str(node.value)
            if kind not in NAMED_MASKS:
                known = ", ".join(sorted(NAMED_MASKS))
                self.problem(node, f"{what}: unknown mask {kind!r} "
                             f"(expected one of {known} or keep_first/keep_last)")
                return None
            return Mask(kind)
        fields = self.mapping(node, f"{what}: mask", KEEP_KEYS)
        if not fields:
            self.problem(node, f"{what}: mask needs keep_first and/or keep_last")
            return None
        first = self.integer(fields.get("keep_first"), f"{what}: keep_first") or 0
        last = self.integer(fields.get("keep_last"), f"{what}: keep_last") or 0
        char = self.string(fields.get("char"), f"{what}: char") or "*"
        if len(char) != 1:
            self.problem(fields["char"], f"{what}: char must be one character")
        return Mask("keep", keep_first=first, keep_last=last, char=char[:1] or "*")

    def tables(self, node: yaml.Node | None, classes: dict[str, ClassDef]) -> dict[str, TableDef]:
        out: dict[str, TableDef] = {}
        for name, (key_node, value) in self.named(node, "tables").items():
            what = f"table {name!r}"
            parts = name.split(".")
            if len(parts) != 2 or not all(_IDENT_RE.match(p) for p in parts):
                self.problem(key_node, f"{what}: expected schema.table")
                continue
            fields = self.mapping(value, what, TABLE_KEYS)
            columns: dict[str, str] = {}
            named_columns = self.named(fields.get("columns"), f"{what}: columns")
            for col, (col_key, col_value) in named_columns.items():
                cls = self.string(col_value, f"{what}: column {col!r}")
                if cls is not None and cls not in classes:
                    self.problem(col_value, f"{what}: column {col!r} names unknown class {cls!r}")
                elif cls is not None:
                    columns[col] = cls
                    self.lines[f"tables.{name}.columns.{col}"] = col_key.start_mark.line + 1
            subject = self.string(fields.get("subject"), f"{what}: subject")
            canary_nodes = self.sequence(fields.get("canaries"))
            canaries = tuple(str(self.scalar(item)) for item in canary_nodes)
            if canaries and subject is None:
                self.problem(fields["canaries"], f"{what}: canaries need a subject column")
            self.lines[f"tables.{name}"] = key_node.start_mark.line + 1
            out[name] = TableDef(name=name, subject=subject, columns=columns, canaries=canaries,
                                 retention=self.retention(fields.get("retention"), what))
        return out

    def retention(self, node: yaml.Node | None, what: str) -> Retention | None:
        if node is None:
            return None
        fields = self.mapping(node, f"{what}: retention", RETENTION_KEYS)
        column = self.string(fields.get("column"), f"{what}: retention column")
        keep = self.string(fields.get("keep"), f"{what}: retention keep")
        if column is None or keep is None:
            self.problem(node, f"{what}: retention needs column and keep")
            return None
        match = _KEEP_RE.match(keep)
        if not match:
            self.problem(fields["keep"],
                         f"{what}: retention keep {keep!r} is not like 3y, 18mo, 90d")
            return None
        unit = match.group(2)
        unit = "mo" if unit.startswith("mo") else unit[0]
        return Retention(column=column, keep=keep, interval=f"{match.group(1)} {_UNITS[unit]}")

    def purposes(self, node: yaml.Node | None, classes: dict[str, ClassDef],
                 tables: dict[str, TableDef]) -> dict[str, Purpose]:
        out: dict[str, Purpose] = {}
        for name, (key_node, value) in self.named(node, "purposes").items():
            what = f"purpose {name!r}"
            fields = self.mapping(value, what, PURPOSE_KEYS)
            lists: dict[str, tuple[str, ...]] = {}
            seen: dict[str, str] = {}
            for list_name in (*TREATMENT_LISTS, "lookup"):
                items = []
                for cls, item in self.string_list(fields.get(list_name), f"{what}: {list_name}"):
                    if cls not in classes:
                        self.problem(item, f"{what}: {list_name} names unknown class {cls!r}")
                        continue
                    if list_name in TREATMENT_LISTS and cls in seen:
                        self.problem(item, f"{what}: class {cls!r} is in both "
                                     f"{seen[cls]} and {list_name}")
                    if list_name == "lookup" and seen.get(cls) == "deny":
                        self.problem(item, f"{what}: class {cls!r} is both denied and a lookup")
                    seen.setdefault(cls, list_name)
                    items.append(cls)
                lists[list_name] = tuple(items)
            write = []
            for table, item in self.string_list(fields.get("write"), f"{what}: write"):
                if table not in tables:
                    self.problem(item, f"{what}: write names unknown table {table!r}")
                write.append(table)
            self.lines[f"purposes.{name}"] = key_node.start_mark.line + 1
            out[name] = Purpose(
                name=name, description=self.string(fields.get("description"), what) or "",
                write=tuple(write), consent=self.consent(fields.get("consent"), what, tables),
                limits=self.limits(fields.get("limits"), what), **lists)
        return out

    def consent(self, node: yaml.Node | None, what: str, tables: dict[str, TableDef]) -> str | None:
        value = self.string(node, f"{what}: consent")
        if value is None:
            return None
        table, _, column = value.rpartition(".")
        if table not in tables or not column:
            self.problem(node, f"{what}: consent {value!r} must be schema.table.column "
                         "of a table in tables")
            return None
        return value

    def limits(self, node: yaml.Node | None, what: str) -> Limits:
        fields = self.mapping(node, f"{what}: limits", LIMIT_KEYS)
        return Limits(
            rows_per_query=self.integer(fields.get("rows_per_query"), f"{what}: rows_per_query", 1),
            subjects_per_hour=self.integer(fields.get("subjects_per_hour"),
                                           f"{what}: subjects_per_hour", 1))

    def principals(self, node: yaml.Node | None,
                   purposes: dict[str, Purpose]) -> dict[str, Principal]:
        out: dict[str, Principal] = {}
        for name, (key_node, value) in self.named(node, "principals").items():
            what = f"principal {name!r}"
            fields = self.mapping(value, what, PRINCIPAL_KEYS)
            password = self.string(fields.get("password"), f"{what}: password")
            password_env = self.string(fields.get("password_env"), f"{what}: password_env")
            if (password is None) == (password_env is None):
                self.problem(key_node, f"{what}: needs exactly one of password, password_env")
            names = []
            for purpose, item in self.string_list(fields.get("purposes"), f"{what}: purposes"):
                if purpose not in purposes:
                    self.problem(item, f"{what}: names unknown purpose {purpose!r}")
                names.append(purpose)
            if "purposes" not in fields:
                self.problem(key_node, f"{what}: missing key 'purposes'")
            self.lines[f"principals.{name}"] = key_node.start_mark.line + 1
            out[name] = Principal(name=name, password=password, password_env=password_env,
                                  purposes=tuple(names))
        return out
