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


def measure_operation(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> Measure:
    """Depth, aliases and cost of one operation, with its fragments expanded."""
    measure = Measure()
    root = schema.get_root_type(operation.operation)
    if root is not None:
        _Walker(schema, fragments, measure).walk(
            operation.selection_set, root, 1, 1, frozenset(), None
        )
    return measure


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


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        measure: Measure,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.measure = measure

    def walk(
        self,
        selections: SelectionSetNode,
        parent: Composite,
        depth: int,
        multiplier: int,
        seen: frozenset[str],
        page_size: int | None,
    ) -> None:
        """`page_size` is set inside a connection: its edges and nodes lists have that size."""
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, parent, depth, multiplier, seen, page_size)
                continue
            inner_seen = seen
            if isinstance(selection, InlineFragmentNode):
                condition, nested = selection.type_condition, selection.selection_set
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                condition, nested = fragment.type_condition, fragment.selection_set
                inner_seen = seen | {name}
            else:
                continue
            named = self.schema.get_type(condition.name.value) if condition else parent
            target = named if isinstance(named, Composite) else parent
            self.walk(nested, target, depth, multiplier, inner_seen, page_size)

    def field(
        self,
        node: FieldNode,
        parent: Composite,
        depth: int,
        multiplier: int,
        seen: frozenset[str],
        page_size: int | None,
    ) -> None:
        measure = self.measure
        measure.depth = max(measure.depth, depth)
        measure.aliases += node.alias is not None
        measure.cost += multiplier
        definition = parent.fields.get(node.name.value)
        if definition is None or node.selection_set is None or depth > MAX_DEPTH:
            return
        child = get_named_type(definition.type)
        if not isinstance(child, Composite):
            return
        factor, inner_page = 1, None
        if child.name.endswith("Connection"):
            inner_page = _page_size(node)
        elif _is_list(definition.type):
            factor = page_size if page_size is not None else LIST_ESTIMATE
        self.walk(node.selection_set, child, depth + 1, multiplier * factor, seen, inner_page)


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
    if isinstance(value, IntValueNode):
        return max(1, min(int(value.value), MAX_PAGE_SIZE))
    return MAX_PAGE_SIZE
