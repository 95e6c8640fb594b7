"""Limits on what one GraphQL document may ask for, checked before anything runs.

Depth, aliases and cost are measured over the operation with its fragments expanded;
the token limit is applied by the parser. Cost counts every field once per object it may
be resolved on: a connection multiplies its selection by its page size (`first`/`last`, or
the default page size, or the maximum when the size is a variable), and a plain list of
objects by `LIST_ESTIMATE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    get_named_type,
)

from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_TOKENS = 2000
MAX_COST = 10_000
LIST_ESTIMATE = 10
TOO_COMPLEX = "QUERY_TOO_COMPLEX"

Composite = GraphQLObjectType | GraphQLInterfaceType


@dataclass(slots=True)
class Measure:
    depth: int = 0
    aliases: int = 0
    cost: int = 0
    steps: int = 0  # fields the walk visited: at most a constant times the document's size


def measure_operation(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> Measure:
    """Depth, aliases and cost of one operation, with its fragments expanded."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return Measure()
    walker = _Walker(schema, fragments)
    total = walker.selection_set(operation.selection_set, root, 1, None)
    return Measure(depth=total.depth, aliases=total.aliases, cost=total.cost, steps=walker.steps)


class ComplexityRule(ValidationRule):
    """Refuses operations over the depth, alias or cost limit with QUERY_TOO_COMPLEX."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        fragments = {
            definition.name.value: definition
            for definition in self.context.document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        measure = measure_operation(self.context.schema, node, fragments)
        for value, limit, what in (
            (measure.depth, MAX_DEPTH, "depth"),
            (measure.aliases, MAX_ALIASES, "aliases"),
            (measure.cost, MAX_COST, "cost"),
        ):
            if value > limit:
                self.report_error(
                    GraphQLError(
                        f"Query {what} {value} exceeds the limit of {limit}.",
                        node,
                        extensions={"code": TOO_COMPLEX},
                    )
                )


@dataclass(frozen=True, slots=True)
class _Total:
    depth: int  # the deepest field reached
    aliases: int
    cost: int  # for one object: the caller multiplies it by how many there may be

    def __add__(self, other: _Total) -> _Total:
        return _Total(
            max(self.depth, other.depth), self.aliases + other.aliases, self.cost + other.cost
        )


_NOTHING = _Total(0, 0, 0)


class _Walker:
    """Walks an operation, expanding fragments, in time linear in the document's size.

    Expanding a fragment at every spread is exponential when fragments spread each other
    several times, so each fragment is walked once per (type, depth, page size) and its
    total reused: it counts at every spread all the same. A spread of a fragment that is
    being expanded (a cycle, which validation refuses anyway) counts nothing.
    """

    def __init__(self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode]):
        self.schema = schema
        self.fragments = fragments
        self.expanding: set[str] = set()
        self.done: dict[tuple[str, str, int, int | None], _Total] = {}
        self.steps = 0

    def selection_set(
        self, selections: SelectionSetNode, parent: Composite, depth: int, page_size: int | None
    ) -> _Total:
        """`page_size` is set inside a connection: its edges and nodes lists have that size."""
        total = _NOTHING
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, depth, page_size)
            elif isinstance(selection, InlineFragmentNode):
                target = self._target(selection.type_condition, parent)
                total += self.selection_set(selection.selection_set, target, depth, page_size)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.spread(selection.name.value, parent, depth, page_size)
        return total

    def spread(self, name: str, parent: Composite, depth: int, page_size: int | None) -> _Total:
        fragment = self.fragments.get(name)
        if fragment is None or name in self.expanding:
            return _NOTHING
        target = self._target(fragment.type_condition, parent)
        key = (name, target.name, depth, page_size)
        if key not in self.done:
            self.expanding.add(name)
            self.done[key] = self.selection_set(fragment.selection_set, target, depth, page_size)
            self.expanding.discard(name)
        return self.done[key]

    def field(
        self, node: FieldNode, parent: Composite, depth: int, page_size: int | None
    ) -> _Total:
        self.steps += 1
        own = _Total(depth, int(node.alias is not None), 1)
        definition = parent.fields.get(node.name.value)
        if definition is None or node.selection_set is None or depth > MAX_DEPTH:
            return own
        child = get_named_type(definition.type)
        if not isinstance(child, Composite):
            return own
        factor, inner_page = 1, None
        if child.name.endswith("Connection"):
            inner_page = _page_size(node)
        elif _is_list(definition.type):
            factor = page_size if page_size is not None else LIST_ESTIMATE
        inner = self.selection_set(node.selection_set, child, depth + 1, inner_page)
        return _Total(max(depth, inner.depth), own.aliases + inner.aliases, 1 + factor * inner.cost)

    def _target(self, condition: NamedTypeNode | None, parent: Composite) -> Composite:
        named = self.schema.get_type(condition.name.value) if condition else parent
        return named if isinstance(named, Composite) else parent


def _is_list(type_: Any) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def _page_size(node: FieldNode) -> int:
    sizes = [
        argument.value
        for argument in node.arguments or ()
        if argument.name.value in ("first", "last")
    ]
    if not sizes:
        return DEFAULT_PAGE_SIZE
    value = sizes[0]
    if isinstance(value, IntValueNode) and len(value.value) <= len(str(MAX_PAGE_SIZE)):
        return max(1, min(int(value.value), MAX_PAGE_SIZE))
    return MAX_PAGE_SIZE
