"""Scalars whose values written in the document are refused with their place.

graphql-core reports a literal that a scalar refuses with the scalar's own
error when that is a GraphQL error, as strawberry's are: without the value's
node, so without a location, and without the argument path the HTTP view
derives from it (`filter.fromDate`). A variable's refusal has both. Parsing a
literal here raises the same message with the node."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from graphql import GraphQLError, ValueNode, value_from_ast_untyped
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

ParseLiteral = Callable[[ValueNode, dict[str, Any] | None], Any]


def located_literal(parse_value: Callable[[Any], Any]) -> ParseLiteral:
    """parse_literal for a scalar parsed by `parse_value`: its error names the node."""

    def parse_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
        try:
            return parse_value(value_from_ast_untyped(node, variables))
        except GraphQLError as exc:
            raise GraphQLError(exc.message, node) from exc

    return parse_literal


_parse_datetime = DateTimeDefinition.parse_value
assert _parse_datetime is not None

#: strawberry's DateTime, its literals refused with their place.
LocatedDateTime = ScalarDefinition(
    name=DateTimeDefinition.name,
    description=DateTimeDefinition.description,
    specified_by_url=DateTimeDefinition.specified_by_url,
    serialize=DateTimeDefinition.serialize,
    parse_value=DateTimeDefinition.parse_value,
    parse_literal=located_literal(_parse_datetime),
    origin=datetime,
)
