"""Scalar and enum fields read straight off their object.

graphql-core executes every field alike: it builds a resolve info (a tuple of
fourteen values), parses the field's arguments, calls the resolver and walks
`complete_value` down to the leaf's serializer. For a field strawberry
resolves by reading an attribute (`is_basic_field`: no resolver, no field
extensions, no arguments), returning a scalar or an enum, none of that but the
attribute read and the serializer can change the result: about 6 us of 8 per
field, and an order's view has fifteen of them, a page of twenty orders eighty.

`LeafFieldsExecutor.execute_field` reads such a field and serializes it in
one step. Whatever is not the plain case (a null, an error, an awaitable, a
value the serializer refuses, middleware around resolvers) goes through
graphql-core's own `execute_field`, which reads the attribute again (reading
an attribute has no side effects) and reports it exactly as before."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

from graphql import (
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
)

from .plans import PlannedExecutor


class Leaf(NamedTuple):
    """How to read and serialize one field (see module docstring)."""

    read: Callable[..., Any]  # strawberry's basic resolver: (source, info) -> value
    serialize: Callable[[Any], Any]


#: Not the plain case: leave the field to graphql-core's execute_field.
_GENERAL = object()

#: graphql-core's name of the meta field every object type has.
TYPENAME = "__typename"


@lru_cache(maxsize=4096)
def leaf_of(schema: GraphQLSchema, parent_type: GraphQLObjectType, name: str) -> Leaf | None:
    """The Leaf of `parent_type.name`, or None when it is not a plain one."""
    field = schema.get_field(parent_type, name)
    if field is None or field.args or name == TYPENAME:
        return None
    read = field.resolve
    if read is None or not getattr(read, "_is_default", False):
        return None  # a resolver of ours, or strawberry's wrapper around one
    kind = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if not isinstance(kind, GraphQLScalarType | GraphQLEnumType):
        return None
    return Leaf(read, kind.coerce_output_value)


class LeafFieldsExecutor(PlannedExecutor):
    """Strawberry's executor (each document's work done once, see plans), with
    plain scalar and enum fields read in one step."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        name = field_details_list[0].node.name.value
        bare = self._bare_resolvers
        if bare is None:
            bare = self._bare_resolvers = self._bare()
        if bare:
            if name == TYPENAME:
                return parent_type.name
            leaf = leaf_of(self.schema, parent_type, name)
            if leaf is not None:
                value = self._read(leaf, source)
                if value is not _GENERAL:
                    return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _read(self, leaf: Leaf, source: Any) -> Any:
        """The serialized value, or _GENERAL when it is not the plain case."""
        try:
            value = leaf.read(source, None)
            if value is None or isinstance(value, Exception) or self.is_awaitable(value):
                return _GENERAL
            serialized = leaf.serialize(value)
        except Exception:  # reported by the general path
            return _GENERAL
        return _GENERAL if serialized is None or serialized is Undefined else serialized

    #: Whether no middleware wraps this execution's resolvers (asked once:
    #: graphql-core's manager wraps every resolver or none).
    _bare_resolvers: bool | None = None

    def _bare(self) -> bool:
        """No middleware wraps resolvers (strawberry's extensions with `resolve`)."""
        manager = self.middleware_manager
        return manager is None or manager.get_field_resolver(_probe) is _probe


def _probe(*_: Any, **__: Any) -> None:  # pragma: no cover - never called
    """A resolver for asking whether middleware would wrap one."""
