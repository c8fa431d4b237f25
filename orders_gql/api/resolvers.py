"""Resolvers called without strawberry's layers for what a field does not have.

strawberry wraps every resolver for what a field may have (field extensions,
permission classes, exception handlers). On every call it makes the resolver's
Info, derives each argument's GraphQL name again, converts the arguments,
chains the field's extensions (a reduce over partials when there are none),
calls the resolver through two more functions and awaits it through a third:
7% of a createOrder's instructions (callgrind, with the mutation's resolver
replaced by a direct call).

For a field with a resolver and none of those, `install_direct_resolvers`
sets a resolver that does what strawberry's does for it, in one function: the
same Info, each argument the client gave converted as strawberry's own
`convert_argument` converts it (names and types looked up once; an input
type that has a builder (see input_builders) by its builder, without making
the hook's context; any other by `convert_argument` itself), the source
passed where the function asks for self, parent or root, the Info where it
asks for it, then the call, awaited when the field is async. Any other field
keeps strawberry's resolver."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, cast

import strawberry
from graphql import GraphQLObjectType
from strawberry.types.arguments import convert_argument
from strawberry.types.field import StrawberryField
from strawberry.types.unset import UNSET

from .input_builders import NotBuildable, argument_converter


def install_direct_resolvers(schema: strawberry.Schema) -> list[str]:
    """Give every plain resolver of `schema` (see module) a direct one;
    returns the fields that got one, as `Type.field`."""
    converter = schema.schema_converter
    installed = []
    for type_name, graphql_type in schema._schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType) or type_name.startswith("__"):
            continue
        for name, graphql_field in graphql_type.fields.items():
            field = (graphql_field.extensions or {}).get(converter.DEFINITION_BACKREF)
            if not isinstance(field, StrawberryField) or not _plain(schema, field):
                continue
            graphql_field.resolve = _direct(schema, field)
            installed.append(f"{type_name}.{name}")
    return installed


def _plain(schema: strawberry.Schema, field: StrawberryField) -> bool:
    resolver = field.base_resolver
    return (
        resolver is not None
        and callable(resolver.wrapped_func)
        and not field.extensions
        and not field.is_subscription
        and not schema.schema_converter._get_field_exception_handlers(field)
    )


def _direct(schema: strawberry.Schema, field: StrawberryField) -> Callable[..., Any]:
    resolver = field.base_resolver
    assert resolver is not None
    call: Callable[..., Any] = resolver.wrapped_func  # type: ignore[assignment]  # callable: see _plain
    config = schema.config
    registry = schema.schema_converter.scalar_registry
    make_info = config.info_class
    arguments = [
        (config.name_converter.from_argument(a), a.python_name, a.type, _converter(schema, a.type))
        for a in field.arguments
    ]
    with_self = resolver.self_parameter is not None
    # Where the function asks for the source or the Info by keyword.
    source_names = [
        p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None
    ]
    info_name = resolver.info_parameter.name if resolver.info_parameter else None

    def invoke(source: Any, info: Any, given: dict[str, Any]) -> Any:
        strawberry_info = make_info(_raw_info=info, _field=field)
        kwargs: dict[str, Any] = {}
        for graphql_name, python_name, type_, convert in arguments:
            if graphql_name not in given:
                continue
            value = given[graphql_name]
            if convert is _STRAWBERRYS:
                kwargs[python_name] = convert_argument(
                    value, type_, registry, config, strawberry_info, path=(graphql_name,)
                )
            elif convert is None or value is None or value is UNSET:
                kwargs[python_name] = value
            else:
                kwargs[python_name] = convert(value)
        for name in source_names:
            kwargs[name] = source
        if info_name is not None:
            kwargs[info_name] = strawberry_info
        return call(source, **kwargs) if with_self else call(**kwargs)

    if field.is_async:

        async def resolve_async(source: Any, info: Any, **given: Any) -> Any:
            result = invoke(source, info, given)
            return await result if inspect.isawaitable(result) else result

        return resolve_async

    def resolve(source: Any, info: Any, **given: Any) -> Any:
        return invoke(source, info, given)

    return resolve


#: Marks an argument left to strawberry's convert_argument.
_STRAWBERRYS = cast(Callable[[Any], Any], object())


def _converter(schema: strawberry.Schema, type_: Any) -> Callable[[Any], Any] | None:
    """How an argument of `type_` that is neither null nor UNSET is converted:
    None when it is kept as coerced, by the input builders when they build
    every input type in it, else `_STRAWBERRYS`."""
    try:
        return argument_converter(schema, type_)
    except NotBuildable:
        return _STRAWBERRYS
