"""What graphql-core works out on every request, worked out once per document.

For every request graphql-core picks the operation and the fragments out of
the document, coerces each variable by walking its type value by value (after
walking it once more to see that it is not nested too deeply), and collects
the subfields of every object it completes from the selection. Documents are
parsed once per text (see parsing), so a client's repeated operation comes
back as the same DocumentNode, and all of that depends on the document alone,
but for the variables' values and the directives that read them:

- the operation, its fragments and each variable's coercer (a function per
  input type, its fields looked up once) are kept per document;
- the subfields are kept per document when no directive can change them
  (`@skip`, `@include`, `@defer`, `@stream`, fragment arguments: none used).

A coercer handles the plain case only: a value that does not coerce, a
missing variable that has a default or is required, a oneOf input, a type
nested deeper than graphql-core allows or recursive: any of them sends the
request through graphql-core's own coercion, which reports its errors
exactly as before. A createOrder's variable: 229k instructions in graphql-core
(callgrind), a tenth of the request in all; its subfields a twentieth.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    MiddlewareManager,
    OperationDefinitionNode,
    Undefined,
    Visitor,
    assert_valid_schema,
    default_field_resolver,
    default_type_resolver,
    is_leaf_type,
    visit,
)
from graphql.execution.collect_fields import CollectedFields, FieldDetailsList, FragmentDetails
from graphql.execution.get_variable_signature import (
    GraphQLVariableSignature,
    get_variable_signature,
)
from graphql.execution.values import VariableValues, VariableValueSource
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.pyutils import is_iterable
from graphql.type.definition import is_required_input_field
from graphql.type.scalars import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    coerce_boolean,
    coerce_id,
    coerce_int,
    coerce_string,
)
from graphql.utilities.coerce_input_value import coerce_default_value
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

#: A coercer: the coerced value, or Undefined when not the plain case.
Coercer = Callable[[Any], Any]

#: Directives that change which fields are collected, by their arguments.
SELECTION_DIRECTIVES = frozenset({"skip", "include", "defer", "stream"})

#: Plans kept (documents are parsed once per text; see parsing's cache).
PLANS_KEPT = 1000


class _NotPlanned(Exception):
    """A type whose coercion is left to graphql-core."""


#: graphql-core's coercions of the built-in scalars that give back a value of
#: exactly this Python type (within these bounds) as it is: such a value is
#: taken without the call, anything else goes through the coercion.
_AS_IS: dict[Callable[[Any], Any], tuple[type, tuple[int, int] | None]] = {
    coerce_string: (str, None),
    coerce_id: (str, None),
    coerce_boolean: (bool, None),
    coerce_int: (int, (GRAPHQL_MIN_INT, GRAPHQL_MAX_INT)),
}


def _leaf_as_is(type_: Any, inner: Coercer, *, null: Any) -> Coercer | None:
    """For a built-in scalar: `inner` behind a check that takes a value its
    coercion would give back unchanged; `null` is what None and Undefined
    coerce to (Undefined when the type is non-null)."""
    as_is = _AS_IS.get(getattr(type_, "coerce_input_value", None))  # type: ignore[arg-type]
    if as_is is None:
        return None
    kind, bounds = as_is
    if bounds is None:

        def exact(value: Any) -> Any:
            if type(value) is kind:
                return value
            return null if value is None or value is Undefined else inner(value)

        return exact
    low, high = bounds

    def bounded(value: Any) -> Any:
        if type(value) is int and low <= value <= high:  # the only bounded kind
            return value
        return null if value is None or value is Undefined else inner(value)

    return bounded


def _coercer(type_: GraphQLInputType, open_: frozenset[str] = frozenset()) -> tuple[Coercer, int]:
    """The coercer of `type_`, and how deep graphql-core counts its nesting."""
    nullable_type = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    inner, depth = _nullable_coercer(nullable_type, open_)
    null = Undefined if nullable_type is not type_ else None
    if is_leaf_type(nullable_type):
        fast = _leaf_as_is(nullable_type, inner, null=null)
        if fast is not None:
            return fast, depth

    def null_or_inner(value: Any) -> Any:
        return null if value is None or value is Undefined else inner(value)

    return null_or_inner, depth


def _nullable_coercer(type_: Any, open_: frozenset[str]) -> tuple[Coercer, int]:
    """As graphql-core's coerce_input_value, for a value that is not null."""
    if isinstance(type_, GraphQLList):
        item, depth = _coercer(type_.of_type, open_)

        def list_(value: Any) -> Any:
            if not is_iterable(value):  # a value that is not a list is a list of one
                one = item(value)
                return Undefined if one is Undefined else [one]
            coerced = []
            for each in value:
                one = item(each)
                if one is Undefined:
                    return Undefined
                coerced.append(one)
            return coerced

        return list_, depth + 1
    if isinstance(type_, GraphQLInputObjectType):
        return _object_coercer(type_, open_)
    if is_leaf_type(type_):
        parse = type_.coerce_input_value

        def leaf(value: Any) -> Any:
            try:
                return parse(value)
            except Exception:  # graphql-core's own coercion reports it
                return Undefined

        return leaf, 0
    raise _NotPlanned(f"not an input type: {type_}")


def _object_coercer(type_: GraphQLInputObjectType, open_: frozenset[str]) -> tuple[Coercer, int]:
    if type_.is_one_of or type_.name in open_:
        raise _NotPlanned(type_.name)  # oneOf, or recursive
    inside = open_ | {type_.name}
    fields = []
    deepest = 0
    for name, input_field in type_.fields.items():
        coerce, depth = _coercer(input_field.type, inside)
        deepest = max(deepest, depth + 1)
        required = is_required_input_field(input_field)
        fields.append((name, input_field.out_name or name, coerce, required, input_field))
    names = frozenset(type_.fields)
    out_type = type_.out_type

    def input_object(value: Any) -> Any:
        if not isinstance(value, dict):
            return Undefined
        if not names.issuperset(value):
            for name, given in value.items():
                if name not in names and given is not Undefined:
                    return Undefined
        coerced: dict[str, Any] = {}
        for name, key, coerce, required, input_field in fields:
            given = value.get(name, Undefined)
            if given is Undefined:
                if required:
                    return Undefined
                default = coerce_default_value(input_field)
                if default is not Undefined:
                    coerced[key] = default
                continue
            one = coerce(given)
            if one is Undefined:
                return Undefined
            coerced[key] = one
        return out_type(coerced)

    return input_object, deepest


@dataclass(frozen=True)
class _Variable:
    name: str
    signature: GraphQLVariableSignature
    coerce: Coercer
    #: Missing from the request: left to graphql-core (a default, or an error).
    needed: bool


class _SelectionDirectives(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_directive(self, node: DirectiveNode, *_: object) -> None:
        if node.name.value in SELECTION_DIRECTIVES:
            self.found = True

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        if getattr(node, "arguments", None):
            self.found = True


@dataclass
class Plan:
    """One operation of one document (held, so that their ids stay theirs)."""

    schema: GraphQLSchema
    document: DocumentNode
    operation: OperationDefinitionNode
    fragment_definitions: dict[str, FragmentDefinitionNode]
    fragments: dict[str, FragmentDetails]
    #: None: the variables are coerced by graphql-core.
    variables: tuple[_Variable, ...] | None
    #: Subfields by (object type, field nodes), or None when directives can change them.
    subfields: dict[tuple[int, tuple[int, ...]], tuple[FieldDetailsList, CollectedFields]] | None

    def coerce(self, inputs: dict[str, Any]) -> VariableValues | None:
        """graphql-core's VariableValues for these inputs, or None when they
        are not the plain case."""
        if self.variables is None or not isinstance(inputs, dict):
            return None
        sources: dict[str, VariableValueSource] = {}
        coerced: dict[str, Any] = {}
        for variable in self.variables:
            value = inputs.get(variable.name, Undefined)
            if value is Undefined:
                if variable.needed:
                    return None
                sources[variable.name] = VariableValueSource(variable.signature)
                continue
            sources[variable.name] = VariableValueSource(variable.signature, value)
            one = variable.coerce(value)
            if one is Undefined:
                return None
            coerced[variable.name] = one
        return VariableValues(sources, coerced)


def _variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode
) -> tuple[_Variable, ...] | None:
    planned = []
    for node in operation.variable_definitions or ():
        signature = get_variable_signature(schema, node)
        if isinstance(signature, GraphQLError):
            return None
        try:
            coerce, depth = _coercer(signature.type)
        except _NotPlanned:
            return None
        if depth > MAX_NESTING_DEPTH:
            return None
        needed = bool(node.default_value) or isinstance(signature.type, GraphQLNonNull)
        planned.append(_Variable(signature.name, signature, coerce, needed))
    return tuple(planned)


def _make_plan(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> Plan | None:
    """None when graphql-core is to pick (an error to report, fragment arguments)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) != 1:
            return None
        operation = operations[0]
    else:
        named = [o for o in operations if o.name and o.name.value == operation_name]
        if not named:
            return None
        operation = named[-1]  # graphql-core takes the last of that name
    definitions = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    if any(d.variable_definitions for d in definitions.values()):
        return None
    directives = _SelectionDirectives()
    visit(document, directives)
    return Plan(
        schema=schema,
        document=document,
        operation=operation,
        fragment_definitions=definitions,
        fragments={name: FragmentDetails(d, None) for name, d in definitions.items()},
        variables=_variables(schema, operation),
        subfields=None if directives.found else {},
    )


class _Plans:
    def __init__(self, size: int) -> None:
        self.size = size
        self._plans: OrderedDict[tuple[int, int, str | None], Plan] = OrderedDict()

    def of(
        self, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
    ) -> Plan | None:
        key = (id(schema), id(document), operation_name)
        known = self._plans.get(key)
        if known is not None and known.schema is schema and known.document is document:
            self._plans.move_to_end(key)
            return known
        # Not kept when there is none: graphql-core reports what is wrong.
        plan = _make_plan(schema, document, operation_name)
        if plan is not None:
            self._plans[key] = plan
            if len(self._plans) > self.size:
                self._plans.popitem(last=False)
        return plan


plans = _Plans(PLANS_KEPT)


class PlannedExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with the per-document work done once (see module)."""

    _subfields: dict[tuple[int, tuple[int, ...]], tuple[FieldDetailsList, CollectedFields]] | None
    _subfields = None

    @classmethod
    def build(  # type: ignore[override]
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        field_resolver: Any = None,
        type_resolver: Any = None,
        subscribe_field_resolver: Any = None,
        max_coercion_errors: int = 50,
        enable_early_execution: bool = False,
        middleware: Any = None,
        is_awaitable: Any = None,
        is_async_iterable: Any = None,
        **rest: Any,
    ) -> Any:
        plan = plans.of(schema, document, operation_name)
        variables = None
        if plan is not None and (middleware is None or isinstance(middleware, MiddlewareManager)):
            variables = plan.coerce(raw_variable_values or {})
        if plan is None or variables is None:
            return super().build(
                schema,
                document,
                root_value,
                context_value,
                raw_variable_values,
                operation_name,
                field_resolver,
                type_resolver,
                subscribe_field_resolver,
                max_coercion_errors,
                enable_early_execution,
                middleware,
                is_awaitable,
                is_async_iterable,
                **rest,
            )
        assert_valid_schema(schema)
        executor = cls(
            schema,
            dict(plan.fragment_definitions),
            dict(plan.fragments),
            root_value,
            context_value,
            plan.operation,
            variables,
            field_resolver or default_field_resolver,
            type_resolver or default_type_resolver,
            subscribe_field_resolver or default_field_resolver,
            enable_early_execution,
            middleware,
            is_awaitable,
            is_async_iterable,
            **rest,
        )
        executor._subfields = plan.subfields
        return executor

    def collect_subfields(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> CollectedFields:
        shared = self._subfields
        if shared is None:
            return super().collect_subfields(return_type, field_details_list)
        key = (id(return_type), tuple(id(d.node) for d in field_details_list))
        known = shared.get(key)
        if known is None:
            collected = super().collect_subfields(return_type, field_details_list)
            # The nodes are the plan's document's; the list holds them anyway.
            known = shared[key] = (field_details_list, collected)
        return known[1]
