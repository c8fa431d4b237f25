"""Limits on what one GraphQL request may ask: depth, aliases, tokens, and
introspection that loops through the type graph. Each refusal has a code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions.max_aliases import create_validator as aliases_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from .parsing import CachedDocuments

#: Introspection fields that lead from a type back to types. The standard
#: introspection query (the one GraphiQL sends) passes through each at most
#: once on any path; a query that nests one inside itself walks the type
#: graph in a loop and grows exponentially with its depth.
CYCLIC_INTROSPECTION = frozenset(
    {"fields", "inputFields", "interfaces", "possibleTypes", "enumValues", "types", "args"}
)


@dataclass(frozen=True)
class Limits:
    max_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 5_000
    #: fields one operation selects once its fragments are written out
    max_fields: int = 2_000
    introspection: bool = True


def _nested_repeat(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str],
    budget: int,
) -> str | None:
    """The first cyclic introspection field met twice on one path, if any."""
    if selection_set is None or budget <= 0:
        return None
    for selection in selection_set.selections:
        inner: SelectionSetNode | None
        now = seen
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name in CYCLIC_INTROSPECTION:
                if name in seen:
                    return name
                now = seen | {name}
            inner = selection.selection_set
        elif isinstance(selection, InlineFragmentNode):
            inner = selection.selection_set
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            inner = fragment.selection_set if fragment else None
        else:  # pragma: no cover
            continue
        found = _nested_repeat(inner, fragments, now, budget - 1)
        if found:
            return found
    return None


class IntrospectionCycleRule(ValidationRule):
    """Refuse introspection that loops (e.g. fields { type { fields { ... } } })."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        document = context.document
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                repeated = _nested_repeat(definition.selection_set, fragments, frozenset(), 64)
                if repeated:
                    context.report_error(
                        GraphQLError(
                            f"introspection nests '{repeated}' inside itself; "
                            "only the standard introspection query's shape is allowed",
                            definition,
                            extensions={"code": "INTROSPECTION_TOO_DEEP", "field": repeated},
                        )
                    )


def schema_extensions(limits: Limits) -> list[Callable[[], Any]]:
    """Strawberry extensions enforcing the limits, as per-request factories:
    one that parses and validates each distinct document once (see parsing).

    The rule classes are made once: the validation cache is keyed by them, and
    a new class per request would make every request miss it."""
    rules: list[type[ASTValidationRule]] = [
        depth_validator(limits.max_depth, None),
        aliases_validator(limits.max_aliases),
        IntrospectionCycleRule,
    ]
    if not limits.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    added = tuple(rules)
    return [lambda: CachedDocuments(added, limits.max_tokens, limits.max_fields)]


#: Codes for the refusals strawberry's own limiters phrase as plain messages.
LIMIT_CODES = (
    ("exceeds maximum operation depth", "QUERY_TOO_DEEP"),
    ("aliases found", "TOO_MANY_ALIASES"),
    ("tokens", "TOO_MANY_TOKENS"),
    ("introspection", "INTROSPECTION_DISABLED"),
)
