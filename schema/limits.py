"""Limits on what one GraphQL document may ask for, checked before anything runs.

Depth, aliases and cost are measured over the operation with its fragments expanded;
the token limit is applied by the parser. Cost counts every field once per object it may
be resolved on: a connection multiplies its selection by its page size (`first`/`last`, or
the default page size, or the maximum when the size is a variable), and a plain list of
objects by `LIST_ESTIMATE`.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
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


class _Measure:
    def __init__(self) -> None:
        self.depth = 0
        self.aliases = 0
        self.cost = 0


class ComplexityRule(ValidationRule):
    """Refuses operations over the depth, alias or cost limit with QUERY_TOO_COMPLEX."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        root = self.context.schema.get_root_type(node.operation)
        if root is None:
            return
        measure = _Measure()
        self._walk(node.selection_set, root, 1, 1, measure, frozenset(), None)
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

    def _walk(
        self,
        selections: SelectionSetNode,
        parent: Composite,
        depth: int,
        multiplier: int,
        measure: _Measure,
        fragments: frozenset[str],
        page_size: int | None,
    ) -> None:
        """`page_size` is set inside a connection: its edges and nodes lists have that size."""
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                self._field(selection, parent, depth, multiplier, measure, fragments, page_size)
            elif isinstance(selection, InlineFragmentNode):
                target = parent
                if selection.type_condition is not None:
                    named = self.context.schema.get_type(selection.type_condition.name.value)
                    target = named if isinstance(named, Composite) else parent
                self._walk(
                    selection.selection_set,
                    target,
                    depth,
                    multiplier,
                    measure,
                    fragments,
                    page_size,
                )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.context.get_fragment(name)
                if fragment is None or name in fragments:
                    continue
                named = self.context.schema.get_type(fragment.type_condition.name.value)
                target = named if isinstance(named, Composite) else parent
                self._walk(
                    fragment.selection_set, target, depth, multiplier, measure,
                    fragments | {name}, page_size,
                )  # fmt: skip

    def _field(
        self,
        node: FieldNode,
        parent: Composite,
        depth: int,
        multiplier: int,
        measure: _Measure,
        fragments: frozenset[str],
        page_size: int | None,
    ) -> None:
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
        self._walk(
            node.selection_set,
            child,
            depth + 1,
            multiplier * factor,
            measure,
            fragments,
            inner_page,
        )


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
