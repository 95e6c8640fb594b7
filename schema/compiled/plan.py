"""Query documents as plans: which fields each object of the response holds, in order.

A plan is made once per document and operation name (after the standard parse and
validation), and resolved per request into a tree of `Field`s for the values of the
`@skip`/`@include` conditions, the way the executor collects fields: response keys in
document order, same-key fields merged, fragments applied where their type condition
matches, each named fragment visited once per selection set.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_abstract_type,
)
from graphql.execution.values import VariableValues, get_directive_values

Selected = FieldNode | InlineFragmentNode | FragmentSpreadNode


class Unsupported(Exception):
    """The compiled path does not cover this; the standard executor answers instead."""


@dataclass(frozen=True, slots=True)
class Field:
    """One key of a response object: the field it asks for and, for an object or a list of
    objects, what it selects on each possible type."""

    key: str
    name: str
    nodes: tuple[FieldNode, ...]
    definition: GraphQLField | None  # None for __typename
    selections: dict[str, tuple[Field, ...]] = field(default_factory=dict)

    @property
    def node(self) -> FieldNode:
        return self.nodes[0]

    @property
    def literal_arguments(self) -> bool:
        """Whether its arguments are all written in the document (no variables)."""
        pending: list[Node] = [argument.value for argument in self.node.arguments or ()]
        while pending:
            value = pending.pop()
            if isinstance(value, VariableNode):
                return False
            if isinstance(value, ListValueNode):
                pending += value.values
            elif isinstance(value, ObjectValueNode):
                pending += [item.value for item in value.fields]
        return True

    def on(self, type_name: str) -> tuple[Field, ...]:
        return self.selections[type_name]


@dataclass(slots=True)
class Plan:
    """A query operation of a validated document, ready to be resolved per request."""

    schema: GraphQLSchema
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    conditional: tuple[FieldNode | InlineFragmentNode | FragmentSpreadNode, ...]
    shapes: dict[tuple[bool, ...], tuple[Field, ...]] = field(default_factory=dict)
    # Arguments written as literals only, converted once: keyed by the id of the field node,
    # which lives as long as this plan.
    literal_arguments: dict[int, dict[str, Any]] = field(default_factory=dict)

    def fields(self, variables: VariableValues) -> tuple[Field, ...]:
        """The root fields for these variables (cached per outcome of the conditions)."""
        outcome = tuple(_included(node, variables) for node in self.conditional)
        shape = self.shapes.get(outcome)
        if shape is None:
            root = self.schema.query_type
            assert root is not None  # noqa: S101 - a query plan needs a query type
            shape = _Collector(self, variables).fields(root, [self.operation.selection_set])
            self.shapes[outcome] = shape
        return shape


def plan_operation(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> Plan:
    """The plan of the operation `operation_name` names, or `Unsupported`."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) != 1:
            raise Unsupported("operation name needed")
        operation = operations[0]
    else:
        named = [o for o in operations if o.name and o.name.value == operation_name]
        if not named:
            raise Unsupported("unknown operation name")
        operation = named[0]
    if operation.operation is not OperationType.QUERY:
        raise Unsupported(f"{operation.operation.value} operation")
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    conditional = tuple(
        node
        for node in _all_selections(operation.selection_set, fragments)
        if any(d.name.value in ("skip", "include") for d in node.directives or ())
    )
    return Plan(schema, operation, fragments, conditional)


def _all_selections(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[Selected]:
    seen: set[str] = set()
    pending = [selection_set]
    while pending:
        current = pending.pop()
        for selection in current.selections:
            assert isinstance(selection, Selected)  # noqa: S101 - the three kinds there are
            yield selection
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:
                    seen.add(name)
                    pending.append(fragments[name].selection_set)
            elif selection.selection_set is not None:
                pending.append(selection.selection_set)


def _included(node: Selected, variables: VariableValues) -> bool:
    skip = get_directive_values(GraphQLSkipDirective, node, variables)
    if skip is not None and skip["if"] is True:
        return False
    include = get_directive_values(GraphQLIncludeDirective, node, variables)
    return not (include is not None and include["if"] is False)


class _Collector:
    def __init__(self, plan: Plan, variables: VariableValues) -> None:
        self.plan = plan
        self.variables = variables

    def fields(
        self, parent: GraphQLObjectType, selection_sets: Sequence[SelectionSetNode]
    ) -> tuple[Field, ...]:
        grouped: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for selection_set in selection_sets:
            self._collect(parent, selection_set, grouped, visited)
        return tuple(self._field(parent, key, nodes) for key, nodes in grouped.items())

    def _collect(
        self,
        parent: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            assert isinstance(selection, Selected)  # noqa: S101 - the three kinds there are
            if not _included(selection, self.variables):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._matches(condition.name.value, parent):
                    self._collect(parent, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.plan.fragments[name]
                if self._matches(fragment.type_condition.name.value, parent):
                    self._collect(parent, fragment.selection_set, grouped, visited)

    def _matches(self, condition: str, parent: GraphQLObjectType) -> bool:
        schema = self.plan.schema
        named = schema.get_type(condition)
        if named is parent:
            return True
        return is_abstract_type(named) and schema.is_sub_type(named, parent)

    def _field(self, parent: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> Field:
        name = nodes[0].name.value
        if name == "__typename":
            return Field(key, name, tuple(nodes), None)
        if name.startswith("__"):
            raise Unsupported("introspection")
        definition = parent.fields[name]
        named: GraphQLNamedType = get_named_type(definition.type)
        selections: dict[str, tuple[Field, ...]] = {}
        if isinstance(named, GraphQLObjectType):
            selections[named.name] = self.fields(named, _subsets(nodes))
        elif is_abstract_type(named):
            for possible in self.plan.schema.get_possible_types(named):
                selections[possible.name] = self.fields(possible, _subsets(nodes))
        return Field(key, name, tuple(nodes), definition, selections)


def _subsets(nodes: Sequence[FieldNode]) -> list[SelectionSetNode]:
    return [node.selection_set for node in nodes if node.selection_set is not None]
