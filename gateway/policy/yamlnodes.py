"""Reading YAML nodes with their line numbers, collecting problems as FILE:LINE: reason."""

from __future__ import annotations

from typing import Any

import yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class NodeReader:
    """Typed access to composed YAML nodes; every mistake becomes a problem line."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[str] = []
        self.lines: dict[str, int] = {}

    def problem(self, node: yaml.Node | None, reason: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 0
        self.problems.append(f"{self.filename}:{line}: {reason}")

    def mapping(self, node: yaml.Node | None, what: str, keys: set[str] | None = None
                ) -> dict[str, yaml.Node]:
        if node is None:
            return {}
        if not isinstance(node, yaml.MappingNode):
            if not (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
                self.problem(node, f"{what}: expected a mapping")
            return {}
        out: dict[str, yaml.Node] = {}
        for key_node, value in node.value:
            key = str(key_node.value)
            if key in out:
                self.problem(key_node, f"{what}: duplicate key {key!r}")
            elif keys is not None and key not in keys:
                self.problem(key_node, f"{what}: unknown key {key!r}")
            else:
                out[key] = value
        return out

    def named(self, node: yaml.Node | None, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """A mapping of user-chosen names: name -> (key node, value node)."""
        if node is None:
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{what}: expected a mapping")
            return {}
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value in node.value:
            key = str(key_node.value)
            if key in out:
                self.problem(key_node, f"{what}: duplicate {key!r}")
            out[key] = (key_node, value)
        return out

    def scalar(self, node: yaml.Node) -> Any:
        return yaml.load(yaml.serialize(node), Loader=Loader) if node is not None else None

    def plain(self, node: yaml.Node) -> Any:
        return self.scalar(node)

    def string(self, node: yaml.Node | None, what: str) -> str | None:
        if node is None:
            return None
        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
            self.problem(node, f"{what}: expected a string")
            return None
        return str(node.value)

    def integer(self, node: yaml.Node | None, what: str, minimum: int = 0) -> int | None:
        if node is None:
            return None
        value = self.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if value is None and isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            self.problem(node, f"{what}: expected an integer >= {minimum}")
            return None
        return value

    def string_list(self, node: yaml.Node | None, what: str) -> list[tuple[str, yaml.Node]]:
        if node is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{what}: expected a list")
            return []
        out = []
        for item in node.value:
            value = self.string(item, what)
            if value is not None:
                out.append((value, item))
        return out

    def sequence(self, node: yaml.Node | None) -> list[yaml.Node]:
        if node is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, "expected a list")
            return []
        return list(node.value)
