"""A Hypothesis strategy for valid GraphQL query documents over the whole schema.

Documents are drawn from the schema object itself: every root field and every field
reachable from it, random subsets at every level, aliases (the same field under several
aliases with different arguments, and the same response key selected twice and merged),
named fragments (reused, on object types and on `Node`), inline fragments with and without
a type condition, `__typename`, `@include`/`@skip` with literal and variable conditions,
and arguments from `tests.schema.arguments` and `tests.schema.lists`.

Validity is kept by construction: a field with arguments inside a named fragment always
has an alias of its own, and elsewhere one whose response key is already taken at that
path; depth, aliases and cost are counted as `schema.limits` counts them and kept under
the limits, so nearly every document runs (the rest exercise QUERY_TOO_COMPLEX).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Lexer,
    OperationDefinitionNode,
    Source,
    TokenKind,
    Undefined,
    get_named_type,
    parse,
    print_ast,
)
from hypothesis import strategies as st

from schema.limits import LIST_ESTIMATE, MAX_ALIASES, MAX_COST, MAX_DEPTH, MAX_TOKENS
from schema.limits import measure_operation as measure
from tests.schema.arguments import Draws, Pools, literal, plain_value
from tests.schema.lists import Arguments, cost_limit, list_arguments

COST_BUDGET = MAX_COST * 6 // 10
FIELD_BUDGET = 60
ALIAS_BUDGET = MAX_ALIASES - 2
LISTS = {
    "Query.products": "products",
    "Query.orders": "orders",
    "Query.users": "users",
    "User.orders": "orders",
}
IDS = {"Query.product": "Product", "Query.order": "Order", "Query.node": None}
Composite = GraphQLObjectType | GraphQLInterfaceType


@dataclass(frozen=True, slots=True)
class Document:
    text: str
    variables: dict[str, Any]
    operation_name: str | None
    features: frozenset[str]

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"query": self.text, "variables": self.variables}
        if self.operation_name is not None:
            body["operationName"] = self.operation_name
        return body

    def pretty(self) -> str:
        variables = json.dumps(self.variables, indent=2)
        name = f"operationName: {self.operation_name}\n" if self.operation_name else ""
        return f"{print_ast(parse(self.text))}\n{name}variables: {variables}"


@dataclass(frozen=True, slots=True)
class Fragment:
    name: str
    on: str
    depth: int  # levels it reaches below the selection set it is spread in
    cost: int  # per object it is spread on
    aliases: int
    page: int | None  # the page size of the connection it selects from, if any


@dataclass(frozen=True, slots=True)
class Emitted:
    """A field as selected, to select it again under the same response key."""

    alias: str | None
    name: str
    arguments: str
    definition: GraphQLField
    size: int | None


@dataclass(slots=True)
class Builder:
    d: Draws
    schema: GraphQLSchema
    max_depth: int = MAX_DEPTH
    cost: int = 0
    fields: int = 0
    aliases: int = 0
    deepest: int = 0
    names: int = 0
    fragments: list[str] = field(default_factory=list)
    known: list[Fragment] = field(default_factory=list)
    registry: dict[tuple[str, ...], str] = field(default_factory=dict)

    def fresh(self, name: str) -> str:
        self.names += 1
        return f"{name}_{self.names}"

    def selection_set(
        self, parent: Composite, depth: int, path: tuple[str, ...], mult: int, page: int | None,
        in_fragment: bool,
    ) -> str:  # fmt: skip
        d = self.d
        self.deepest = max(self.deepest, depth)
        interface = isinstance(parent, GraphQLInterfaceType)
        kinds = [(62, "field"), (6, "typename"), (10, "inline"), (10, "spread"), (6, "again")]
        if interface:
            kinds = [(25, "field"), (10, "typename"), (35, "inline"), (30, "spread")]
        width = d.choose([(35, 1), (30, 2), (20, 3), (15, 4)] if depth > 1 else [(50, 1), (50, 2)])
        parts: list[str] = []
        emitted: list[Emitted] = []
        for _ in range(width):
            if parts and (self.fields >= FIELD_BUDGET or self.cost + 4 * mult > COST_BUDGET):
                break
            kind = d.choose(kinds)
            if kind == "again" and (previous := self.again(emitted, parent, depth, path, mult,
                                                           page, in_fragment)):  # fmt: skip
                d.feature("same-key-merged")
                parts.append(self.field(parent, previous.name, depth, path, mult, page,
                                        in_fragment, previous)[0])  # fmt: skip
            elif kind == "inline":
                parts.append(self.inline(parent, depth, path, mult, page, in_fragment))
            elif kind == "spread":
                parts.append(self.spread(parent, depth, mult, page))
            elif kind == "field" and (names := self.candidates(parent, depth, path, mult, page,
                                                              in_fragment)):  # fmt: skip
                fresh = [name for name in names if name not in {e.name for e in emitted}]
                name = d.pick(fresh if fresh and d.chance(85) else names)
                text, record = self.field(parent, name, depth, path, mult, page, in_fragment, None)
                parts.append(text)
                emitted.append(record)
            else:
                parts.append(self.typename(mult))
        return "{ " + " ".join(parts) + " }"

    def again(
        self, emitted: list[Emitted], parent: Composite, depth: int, path: tuple[str, ...],
        mult: int, page: int | None, in_fragment: bool,
    ) -> Emitted | None:  # fmt: skip
        """A field of this selection set that may be selected again under its key."""
        if not emitted:
            return None
        previous = self.d.pick(emitted)
        if previous.alias is not None and self.aliases >= ALIAS_BUDGET:
            return None
        names = self.candidates(parent, depth, path, mult, page, in_fragment=False)
        return previous if previous.name in names else None

    def typename(self, mult: int) -> str:
        self.d.feature("typename")
        self.cost += mult
        self.fields += 1
        if self.aliases < ALIAS_BUDGET and self.d.chance(10):
            self.aliases += 1
            return f"{self.fresh('typename')}: __typename{self.directives()}"
        return "__typename" + self.directives()

    def candidates(
        self, parent: Composite, depth: int, path: tuple[str, ...], mult: int, page: int | None,
        in_fragment: bool,
    ) -> list[str]:  # fmt: skip
        names = []
        for name, definition in parent.fields.items():
            if definition.args and (in_fragment or path + (name,) in self.registry):
                if self.aliases >= ALIAS_BUDGET:
                    continue  # it would need an alias of its own
            if isinstance(get_named_type(definition.type), Composite):
                child_mult = _child_multiplier(definition, mult, page)
                if depth >= self.max_depth or self.fields >= FIELD_BUDGET:
                    continue
                if self.cost + mult + 4 * child_mult > COST_BUDGET:
                    continue
            names.append(name)
        return names

    def field(
        self, parent: Composite, name: str, depth: int, path: tuple[str, ...], mult: int,
        page: int | None, in_fragment: bool, again: Emitted | None,
    ) -> tuple[str, Emitted]:  # fmt: skip
        d = self.d
        definition = parent.fields[name]
        d.feature(f"field-{parent.name}.{name}")
        if depth == 1:
            d.feature(f"root-{name}")
        self.cost += mult
        self.fields += 1
        if again is not None:
            alias, text, size = again.alias, again.arguments, again.size
        else:
            alias, text, size = self.alias_and_arguments(parent, name, definition, path, mult,
                                                         in_fragment)  # fmt: skip
        if alias is not None:
            self.aliases += 1
        selection = f"{alias}: {name}" if alias else name
        selection += text + self.directives()
        child = get_named_type(definition.type)
        if isinstance(child, Composite):
            child_mult = _child_multiplier(definition, mult, page)
            inner_page = size if child.name.endswith("Connection") else None
            key = alias or name
            selection += " " + self.selection_set(
                child, depth + 1, path + (key,), child_mult, inner_page, in_fragment
            )
        return selection, Emitted(alias, name, text, definition, size)

    def alias_and_arguments(
        self, parent: Composite, name: str, definition: GraphQLField, path: tuple[str, ...],
        mult: int, in_fragment: bool,
    ) -> tuple[str | None, str, int | None]:  # fmt: skip
        d = self.d
        forced = bool(definition.args) and (in_fragment or path + (name,) in self.registry)
        arguments, size = self.arguments(parent, name, definition, mult)
        text = (
            "(" + ", ".join(f"{k}: {literal(v)}" for k, v in arguments) + ")" if arguments else ""
        )
        if forced:
            d.feature("alias-for-other-arguments")
            return self.fresh(name), text, size
        if self.aliases < ALIAS_BUDGET and d.chance(12):
            d.feature("alias")
            return self.fresh(name), text, size
        if definition.args:
            self.registry[path + (name,)] = text
        return None, text, size

    def arguments(
        self, parent: Composite, name: str, definition: GraphQLField, mult: int
    ) -> tuple[Arguments, int | None]:
        d, key = self.d, f"{parent.name}.{name}"
        if key in LISTS:
            limit = cost_limit(COST_BUDGET - self.cost, mult)
            return list_arguments(d, self.schema, definition, LISTS[key], limit)
        if key in IDS:
            return [("id", d.bind(definition.args["id"].type, d.object_id(IDS[key])))], None
        required = [
            (arg_name, d.bind(arg.type, plain_value(arg.type, d.pools)))
            for arg_name, arg in definition.args.items()
            if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
        ]
        return required, None

    def directives(self) -> str:
        d = self.d
        if not d.chance(8):
            return ""
        which = d.choose([(45, ("include",)), (40, ("skip",)), (15, ("include", "skip"))])
        for name in which:
            d.feature(name)
        return "".join(f" @{name}(if: {literal(d.condition())})" for name in which)

    def condition_type(self, parent: Composite) -> Composite | None:
        """A type condition that applies to `parent` (None: a fragment without one)."""
        options: list[Composite | None] = [None, parent]
        if isinstance(parent, GraphQLInterfaceType):
            options += list(self.schema.get_possible_types(parent))
        else:
            options += list(parent.interfaces)
        return self.d.pick(options)

    def inline(
        self, parent: Composite, depth: int, path: tuple[str, ...], mult: int, page: int | None,
        in_fragment: bool,
    ) -> str:  # fmt: skip
        condition = self.condition_type(parent)
        self.d.feature(f"inline-on-{condition.name if condition else 'nothing'}")
        head = f"... on {condition.name}" if condition else "..."
        body = self.selection_set(condition or parent, depth, path, mult, page, in_fragment)
        return f"{head}{self.directives()} {body}"

    def spread(self, parent: Composite, depth: int, mult: int, page: int | None) -> str:
        d = self.d
        reusable = [
            fragment
            for fragment in self.known
            if _applies(self.schema, fragment.on, parent)
            and fragment.page == page
            and depth + fragment.depth <= self.max_depth
            and self.cost + fragment.cost * mult <= COST_BUDGET
            and self.aliases + fragment.aliases <= ALIAS_BUDGET
        ]
        if reusable and d.chance(50):
            fragment = d.pick(reusable)
            d.feature("fragment-reused")
            self.cost += fragment.cost * mult
            self.aliases += fragment.aliases
            self.deepest = max(self.deepest, depth + fragment.depth)
        else:
            fragment = self.new_fragment(parent, depth, mult, page)
        d.feature(f"fragment-on-{fragment.on}")
        return f"...{fragment.name}{self.directives()}"

    def new_fragment(self, parent: Composite, depth: int, mult: int, page: int | None) -> Fragment:
        target = self.condition_type(parent) or parent
        name = self.fresh("F")
        cost, aliases, deepest = self.cost, self.aliases, self.deepest
        self.deepest = depth
        body = self.selection_set(target, depth, (name,), mult, page, in_fragment=True)
        reached, self.deepest = self.deepest - depth, max(deepest, self.deepest)
        assert (self.cost - cost) % mult == 0
        fragment = Fragment(
            name, target.name, reached, (self.cost - cost) // mult, self.aliases - aliases, page
        )
        self.known.append(fragment)
        self.fragments.append(f"fragment {name} on {target.name} {body}")
        return fragment


def _applies(schema: GraphQLSchema, on: str, parent: Composite) -> bool:
    condition = schema.get_type(on)
    if not isinstance(condition, Composite):
        return False
    if condition is parent:
        return True
    if isinstance(parent, GraphQLInterfaceType):
        return condition in schema.get_possible_types(parent) or (
            isinstance(condition, GraphQLInterfaceType) and parent in condition.interfaces
        )
    return condition in parent.interfaces


def _child_multiplier(definition: GraphQLField, mult: int, page: int | None) -> int:
    type_ = definition.type
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        return mult * (page if page is not None else LIST_ESTIMATE)
    return mult


@st.composite
def documents(draw: st.DrawFn, schema: GraphQLSchema, pools: Pools) -> Document:
    """One query document, its variables and the features it exercises."""
    d = Draws(draw, pools)
    builder = Builder(d, schema, max_depth=d.choose([(20, 3), (30, 5), (25, 7), (25, MAX_DEPTH)]))
    root = schema.query_type
    assert root is not None
    body = builder.selection_set(root, 1, (), 1, None, in_fragment=False)
    name = "Q" if d.definitions or d.chance(50) else None
    if name is None:
        head = d.pick(("", "query "))
    else:
        arguments = f"({', '.join(d.definitions)})" if d.definitions else ""
        head = f"query {name}{arguments} "
    definitions = [head + body, *builder.fragments]
    if name is not None and d.chance(6):
        d.feature("several-operations")
        definitions.insert(d.pick((0, len(definitions))), "query Other { __typename }")
    if len(definitions) > 1 and d.chance(30):
        d.feature("fragments-first")
        definitions = definitions[1:] + definitions[:1]
    text = "\n".join(definitions)
    d.feature("within-limits" if within_limits(schema, text) else "over-limits")
    return Document(text, dict(d.values), name, frozenset(d.features))


def within_limits(schema: GraphQLSchema, text: str) -> bool:
    lexer, tokens = Lexer(Source(text)), 0
    while lexer.advance().kind != TokenKind.EOF:
        tokens += 1
    ast = parse(text)
    fragments = {
        node.name.value: node
        for node in ast.definitions
        if isinstance(node, FragmentDefinitionNode)
    }
    sizes = [
        measure(schema, node, fragments)
        for node in ast.definitions
        if isinstance(node, OperationDefinitionNode)
    ]
    return tokens <= MAX_TOKENS and all(
        m.depth <= MAX_DEPTH and m.aliases <= MAX_ALIASES and m.cost <= MAX_COST for m in sizes
    )
