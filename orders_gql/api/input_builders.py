"""Input objects built straight from the values graphql-core coerced.

Strawberry converts an input value generically on every request: for each
field it derives the GraphQL name again and resolves the annotation again
(85 us for a CreateOrderInput of two lines, about a tenth of a createOrder
request's CPU). Its `from_input` hook lets a type build itself; here every
input type of the schema gets a builder worked out once from its definition.
It converts the same way: fields the client sent are converted (nested inputs
and lists of them by their own builders; scalars and enums arrive already
coerced by graphql-core), an omitted field without a default is None, the
others keep their Python default.

A type with a field this does not know how to convert (strawberry.Maybe,
GlobalID, lazy types) keeps strawberry's own conversion."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

import strawberry
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.types.arguments import InputContext
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryObjectDefinition,
    StrawberryOptional,
    StrawberryType,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition

Convert = Callable[[Any], Any]
Build = Callable[[type, Mapping[str, Any]], Any]


class NotBuildable(Exception):
    """A field type left to strawberry's own conversion."""


def install_input_builders(schema: strawberry.Schema) -> list[str]:
    """Give every input type of `schema` that has no `from_input` yet a
    precomputed one; returns the GraphQL names of the types that got one."""
    built: dict[type, Build] = {}
    installed = []
    for name, concrete in schema.schema_converter.type_map.items():
        definition = concrete.definition
        if not isinstance(definition, StrawberryObjectDefinition) or not definition.is_input:
            continue
        if definition.from_input is not None:
            continue
        try:
            build = _builder(schema, definition.origin, built)
        except NotBuildable:
            continue
        definition.from_input = _FromInput(build)
        installed.append(name)
    return installed


class _FromInput:
    """The `from_input` hook of a type given a builder here."""

    __slots__ = ("build",)

    def __init__(self, build: Build) -> None:
        self.build = build

    def __call__(self, cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        return self.build(cls, value)


def argument_converter(schema: strawberry.Schema, type_: StrawberryType | type) -> Convert | None:
    """How strawberry's `convert_argument` converts a value of `type_` that is
    neither null nor UNSET (None: kept as coerced), when every input type in
    it has a builder installed here (each converts as its `from_input` hook
    does, without making the hook's context); NotBuildable otherwise."""
    return _converter(schema, type_, {}, installed_only=True)


def _builder(schema: strawberry.Schema, cls: type, built: dict[type, Build]) -> Build:
    """Builds instances of the input type `cls` (a subclass when given one)."""
    if cls in built:
        return built[cls]
    definition: StrawberryObjectDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    if definition.from_input is not None:
        raise NotBuildable(cls)  # builds itself its own way
    plan: list[tuple[str, str, Convert | None]] = []
    without_default: list[str] = []

    def build(target: type, value: Mapping[str, Any]) -> Any:
        kwargs: dict[str, Any] = dict.fromkeys(without_default)
        for graphql_name, python_name, convert in plan:
            if graphql_name in value:
                item = value[graphql_name]
                kwargs[python_name] = item if convert is None or item is None else convert(item)
        return target(**kwargs)

    built[cls] = build  # before the fields: an input type may contain itself
    try:
        for field in definition.fields:
            graphql_name = schema.config.name_converter.from_field(field)
            convert = _converter(schema, field.resolve_type(type_definition=definition), built)
            plan.append((graphql_name, field.python_name, convert))
            if field.default_value is MISSING and field.default_factory is MISSING:
                without_default.append(field.python_name)
    except NotBuildable:
        del built[cls]
        raise
    return build


def _converter(
    schema: strawberry.Schema,
    type_: StrawberryType | type,
    built: dict[type, Build],
    *,
    installed_only: bool = False,
) -> Convert | None:
    """How a non-null value of `type_` is converted; None: kept as coerced.
    installed_only: input types by the builders installed on them, or not at all."""
    if isinstance(type_, StrawberryMaybe):
        raise NotBuildable(type_)  # null handling of its own
    if isinstance(type_, StrawberryOptional):
        return _converter(schema, type_.of_type, built, installed_only=installed_only)
    if isinstance(type_, StrawberryList):
        of = _converter(schema, type_.of_type, built, installed_only=installed_only)
        if of is None:
            return list  # a copy: graphql-core shares defaults between requests
        return lambda values: [None if v is None else of(v) for v in values]
    if type_ is GlobalID:
        raise NotBuildable(type_)
    if isinstance(type_, StrawberryEnumDefinition) or has_enum_definition(type_):
        return None
    if is_scalar(type_, schema.schema_converter.scalar_registry):
        return None
    definition = getattr(type_, "__strawberry_definition__", None)
    if isinstance(definition, StrawberryObjectDefinition) and definition.is_input:
        cls: Any = type_
        if installed_only:
            if not isinstance(definition.from_input, _FromInput):
                raise NotBuildable(type_)
            build = definition.from_input.build
        else:
            build = _builder(schema, cls, built)
        return lambda value: build(cls, value)
    raise NotBuildable(type_)
