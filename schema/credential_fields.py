"""At most one field that checks or sets a password per GraphQL document.

Aliases would otherwise let one request make many guesses or registrations, each an Argon2
hash, behind a single HTTP request. Fields are counted over every operation of the
document with its fragments expanded, so a fragment spread twice counts twice.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
)

from schema.limits import TOO_COMPLEX

CREDENTIAL_FIELDS = frozenset({"login", "register", "changePassword"})
MAX_CREDENTIAL_FIELDS = 1


class OneCredentialFieldRule(ValidationRule):
    """Refuses a document with more than one `login`, `register` or `changePassword` field."""

    def enter_document(self, node: DocumentNode, *_: Any) -> None:
        fragments = {
            definition.name.value: definition
            for definition in node.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        counter = _Counter(fragments)
        found = sum(
            counter.selection_set(definition.selection_set)
            for definition in node.definitions
            if isinstance(definition, OperationDefinitionNode)
            and definition.operation == OperationType.MUTATION
        )
        if found > MAX_CREDENTIAL_FIELDS:
            self.report_error(
                GraphQLError(
                    f"A document may hold at most {MAX_CREDENTIAL_FIELDS} of "
                    f"{', '.join(sorted(CREDENTIAL_FIELDS))}; this one holds {found}.",
                    node,
                    extensions={"code": TOO_COMPLEX},
                )
            )


class _Counter:
    """Counts credential fields in a selection set, each fragment walked once."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.counted: dict[str, int] = {}
        self.expanding: set[str] = set()

    def selection_set(self, selections: SelectionSetNode) -> int:
        total = 0
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                total += selection.name.value in CREDENTIAL_FIELDS
            elif isinstance(selection, InlineFragmentNode):
                total += self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.spread(selection.name.value)
        return total

    def spread(self, name: str) -> int:
        fragment = self.fragments.get(name)
        if fragment is None or name in self.expanding:  # unknown or a cycle: validation's job
            return 0
        if name not in self.counted:
            self.expanding.add(name)
            self.counted[name] = self.selection_set(fragment.selection_set)
            self.expanding.discard(name)
        return self.counted[name]
