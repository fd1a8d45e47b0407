"""Query-block scopes: which FROM entries a column reference may mean."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway.policy.catalog import Column


@dataclass(eq=False)
class Item:
    """One FROM entry (or DML target) of a query block.

    A classified item has `table` (the rules table) and `relation` (the relation read,
    itself or a partition/child) and will be replaced by a masking derived table, unless
    it is a DML target (`target`), which is checked instead.
    """

    alias: str
    table: str | None = None
    relation: str | None = None
    columns: tuple[Column, ...] = ()
    nullable: bool = False
    target: bool = False
    copy: bool = False  # read to be copied elsewhere: shown classes are masked too
    members: tuple[Item, ...] = ()  # a join alias: the entries it covers
    node: dict[str, Any] | None = None  # the RangeVar to replace
    lookups: list[str] = field(default_factory=list)  # predicates pushed into the derived table
    renamed: dict[str, str] = field(default_factory=dict)  # `AS c(a, b)`: visible -> real name
    # Masked columns the gateway can mask itself (masks.gateway_can_mask): those only passed
    # through to the client, those used in expressions, and those left clear in the
    # derived table for the gateway to mask in the result stream.
    passed: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)
    gateway_masked: set[str] = field(default_factory=set)

    @property
    def classified(self) -> bool:
        return self.table is not None

    def has_column(self, name: str) -> bool:
        if self.renamed:
            return name in self.renamed
        return any(c.name == name for c in self.columns)

    def column(self, name: str) -> Column | None:
        """The table column called `name` (a real name, see real())."""
        return next((c for c in self.columns if c.name == name), None)

    def real(self, name: str) -> str:
        """The table column a visible column name means."""
        return self.renamed.get(name, name) if self.renamed else name


@dataclass(eq=False)
class Scope:
    """The entries of one query block, and the enclosing block (for correlated references)."""

    parent: Scope | None = None
    items: list[Item] = field(default_factory=list)
    aggregated: bool = False  # an aggregate call summarises this block's rows

    def chain(self) -> Iterator[Scope]:
        scope: Scope | None = self
        while scope is not None:
            yield scope
            scope = scope.parent

    def classified_here(self) -> list[Item]:
        """Classified entries of this block, join aliases flattened."""
        return [i for i in flatten(self.items) if i.classified]

    def find_alias(self, alias: str) -> Item | None:
        """The innermost entry called `alias` (join aliases included)."""
        for scope in self.chain():
            for item in reversed(scope.items):
                found = _find(item, alias)
                if found is not None:
                    return found
        return None

    def with_column(self, name: str) -> list[Item]:
        """Classified entries, in this block or an enclosing one, having column `name`."""
        for scope in self.chain():
            hits = [i for i in scope.classified_here() if i.has_column(name)]
            if hits:
                return hits
        return []


def flatten(items: list[Item] | tuple[Item, ...]) -> list[Item]:
    out: list[Item] = []
    for item in items:
        if item.members:
            out.extend(flatten(item.members))
        else:
            out.append(item)
    return out


def _find(item: Item, alias: str) -> Item | None:
    if item.alias == alias:
        return item
    for member in item.members:
        found = _find(member, alias)
        if found is not None:
            return found
    return None
