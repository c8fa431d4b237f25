"""Per-document plans (api/plans.py) answer what graphql-core answers: the
variables' coerced values, their errors, the fields a selection collects; and
the plain cases take the plan."""

from __future__ import annotations

import asyncio
import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import graphql.execution.executor as core_executor
import pytest
import strawberry
from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLString,
    Undefined,
    parse,
)
from graphql import build_schema as graphql_schema
from graphql.execution.values import VariableValues, get_variable_values
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from orders_gql.api.limits import Limits, schema_extensions
from orders_gql.api.plans import PlannedExecutor, plans
from orders_gql.api.plans import _coercer as plans_coercer
from orders_gql.api.schema import build_schema

from .gql import execute as run
from .graphql_client import CANCEL, CREATE, UPDATE


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.input
class Line:
    sku: str
    qty: int = 1
    price: Decimal | None = None
    tags: list[str] | None = None


@strawberry.input
class Basket:
    lines: list[Line]
    colour: Colour = Colour.RED
    note: str | None = None
    grid: list[list[int]] | None = None


@strawberry.input(one_of=True)
class Pick:
    a: str | None = strawberry.UNSET
    b: int | None = strawberry.UNSET


@strawberry.input
class Tree:
    label: str
    children: list[Tree] | None = None


@strawberry.type
class Thing:
    name: str
    count: int


@strawberry.type
class Query:
    @strawberry.field
    def basket(self, basket: Basket) -> str:
        return repr(basket)

    @strawberry.field
    def pick(self, pick: Pick) -> str:
        return repr(pick)

    @strawberry.field
    def tree(self, tree: Tree) -> str:
        return repr(tree)

    @strawberry.field
    def echo(self, n: int | None = None, s: str = "x", when: datetime | None = None) -> str:
        return repr((n, s, when))

    @strawberry.field
    def things(self) -> list[Thing]:
        return [Thing(name="pen", count=1), Thing(name="cup", count=2)]


def schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    def make(executor: type) -> strawberry.Schema:
        # Documents parsed once per text, as in the app (see api/parsing).
        extensions = schema_extensions(Limits())
        return strawberry.Schema(Query, execution_context_class=executor, extensions=extensions)

    return make(PlannedExecutor), make(StrawberryGraphQLCoreExecutionContext)


BASKET = "query($b: Basket!) { basket(basket: $b) }"
LINE = {"sku": "s1", "qty": 2, "price": "1.50", "tags": ["a", "b"]}
CASES: list[tuple[str, dict[str, Any] | None]] = [
    (BASKET, {"b": {"lines": [LINE, {"sku": "s2"}], "colour": "BLUE", "grid": [[1, 2], [3]]}}),
    (BASKET, {"b": {"lines": LINE}}),  # a value that is not a list is a list of one
    (BASKET, {"b": {"lines": [LINE], "grid": [1, 2]}}),
    (BASKET, {"b": {"lines": [], "note": None, "colour": "RED"}}),
    (BASKET, {"b": {"lines": [{"sku": "s", "tags": "one"}]}}),
    # refused: each is graphql-core's error
    (BASKET, {"b": {"lines": [{"qty": 1}]}}),
    (BASKET, {"b": {"lines": [{"sku": "s", "qty": "two"}]}}),
    (BASKET, {"b": {"lines": [{"sku": "s", "price": "cheap"}]}}),
    (BASKET, {"b": {"lines": [LINE], "colour": "GREEN"}}),
    (BASKET, {"b": {"lines": [LINE], "extra": 1}}),
    (BASKET, {"b": {"lines": [None]}}),
    (BASKET, {"b": None}),
    (BASKET, {"b": "not an object"}),
    (BASKET, {}),
    (BASKET, None),
    (
        "query($b: Basket!, $c: Basket!) { a: basket(basket: $b) c: basket(basket: $c) }",
        {"b": {"lines": [{"qty": "x"}]}, "c": {"lines": 7}},
    ),
    # oneOf and recursive inputs: graphql-core's coercion
    ("query($p: Pick!) { pick(pick: $p) }", {"p": {"a": "x"}}),
    ("query($p: Pick!) { pick(pick: $p) }", {"p": {"a": "x", "b": 1}}),
    ("query($t: Tree!) { tree(tree: $t) }", {"t": {"label": "r", "children": [{"label": "c"}]}}),
    # defaults, nullable and missing variables
    ('query($n: Int, $s: String = "d") { echo(n: $n, s: $s) }', {}),
    ('query($n: Int, $s: String = "d") { echo(n: $n, s: $s) }', {"n": None, "s": "given"}),
    ("query($n: Int!) { echo(n: $n) }", {}),
    ("query($n: Int!) { echo(n: $n) }", {"n": 2**40}),
    ("query($w: DateTime) { echo(when: $w) }", {"w": "2026-11-27T10:00:00+00:00"}),
    ("query($w: DateTime) { echo(when: $w) }", {"w": "yesterday"}),
    ("query($x: Nope) { echo }", {"x": 1}),
    # operations picked by name, or not
    ("query A { things { name } } query B { things { count } }", None),
    ("{ things { name } } query B { things { count } }", None),
    # directives on the selection
    ("query($i: Boolean!) { things { name count @include(if: $i) } }", {"i": True}),
    ("query($i: Boolean!) { things { name count @include(if: $i) } }", {"i": False}),
    (
        "query($i: Boolean!) { things { ...F @skip(if: $i) } } fragment F on Thing { name }",
        {"i": True},
    ),
    ("{ things { ... on Thing { name } ...F } } fragment F on Thing { count name }", None),
]


@pytest.mark.parametrize(("query", "variables"), CASES)
def test_plans_answer_what_graphql_core_answers(
    query: str, variables: dict[str, Any] | None
) -> None:
    ours, theirs = schemas()
    assert run(ours, query, variables) == run(theirs, query, variables)


@pytest.mark.parametrize("name", ["A", "B"])
def test_an_operation_picked_by_name(name: str) -> None:
    ours, theirs = schemas()
    query = "query A { things { name } } query B { things { count } }"
    result = asyncio.run(ours.execute(query, operation_name=name))
    expected = asyncio.run(theirs.execute(query, operation_name=name))
    assert (result.data, result.errors) == (expected.data, expected.errors)


def test_the_refusals_are_refusals() -> None:
    """The differential test above would pass if both sides took bad input."""
    ours, _ = schemas()
    data, errors = run(ours, BASKET, {"b": {"lines": [{"sku": "s", "qty": "two"}]}})
    assert data is None
    assert "Variable '$b' has invalid value at .lines[0].qty" in errors[0]["message"]
    data, errors = run(ours, BASKET, {"b": {"lines": [LINE], "extra": 1}})
    assert data is None and "extra" in errors[0]["message"]


def test_a_directive_decides_per_request() -> None:
    """Subfields kept per document would answer the first request's selection
    to the next: a document with @include/@skip collects them every time."""
    ours, _ = schemas()
    query = "query($i: Boolean!) { things { name count @include(if: $i) } }"
    assert run(ours, query, {"i": True})[0]["things"][0] == {"name": "pen", "count": 1}
    assert run(ours, query, {"i": False})[0]["things"][0] == {"name": "pen"}
    assert run(ours, query, {"i": True})[0]["things"][0] == {"name": "pen", "count": 1}


def test_the_plain_case_takes_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """graphql-core's coercion runs only for what is not the plain case."""
    calls: list[dict[str, Any]] = []
    core = core_executor.get_variable_values  # type: ignore[attr-defined]

    def spy(schema: Any, definitions: Any, inputs: dict[str, Any], **kwargs: Any) -> Any:
        calls.append(inputs)
        return core(schema, definitions, inputs, **kwargs)

    monkeypatch.setattr(core_executor, "get_variable_values", spy)
    ours, _ = schemas()
    plain = {"b": {"lines": [LINE]}}
    for _ in range(3):
        assert run(ours, BASKET, plain)[1] == []
    run(ours, 'query($n: Int, $s: String = "d") { echo(n: $n, s: $s) }', {"n": 1})
    run(ours, BASKET, {"b": {"lines": [{"qty": 1}]}})
    run(ours, "query($t: Tree!) { tree(tree: $t) }", {"t": {"label": "r"}})
    assert calls == [{"n": 1}, {"b": {"lines": [{"qty": 1}]}}, {"t": {"label": "r"}}]


def test_types_left_to_graphql_core() -> None:
    """oneOf inputs (strawberry checks its own in a validation rule) and
    recursive ones are not planned; plain ones are."""
    schema = graphql_schema(
        """
        input P @oneOf { a: String b: Int }
        input T { label: String! children: [T!] }
        input L { x: [[Int!]] }
        type Query { p(p: P): Int t(t: T): Int l(l: L): Int }
        """
    )
    for variables, planned in [("$p: P", False), ("$t: T", False), ("$l: L", True)]:
        name = variables[1]
        document = parse(f"query({variables}) {{ {name}({name}: ${name}) }}")
        plan = plans.of(schema, document, None)
        assert plan is not None
        assert (plan.variables is not None) is planned


def test_subfields_are_collected_once_per_document(monkeypatch: pytest.MonkeyPatch) -> None:
    collected: list[str] = []
    core = StrawberryGraphQLCoreExecutionContext.collect_subfields

    def spy(self: Any, return_type: Any, details: Any) -> Any:
        collected.append(return_type.name)
        return core(self, return_type, details)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "collect_subfields", spy)
    ours, _ = schemas()
    for _ in range(3):
        assert run(ours, "{ things { name count } }")[0]["things"][1] == {
            "name": "cup",
            "count": 2,
        }
    assert collected == ["Thing"]


def test_plans_are_per_schema_and_document() -> None:
    ours, other = schemas()
    document = parse("{ things { name } }")
    first = plans.of(ours._schema, document, None)
    assert first is not None
    assert plans.of(ours._schema, document, None) is first
    assert plans.of(other._schema, document, None) is not first
    assert plans.of(ours._schema, parse("{ things { name } }"), None) is not first


def test_variables_that_are_not_an_object_go_to_graphql_core() -> None:
    ours, _ = schemas()
    plan = plans.of(ours._schema, parse(BASKET), None)
    assert plan is not None and plan.variables is not None
    assert plan.coerce([{"b": {"lines": []}}]) is None  # type: ignore[arg-type]
    assert plan.coerce({"b": {"lines": []}}) is not None


# The schema's own variables: whatever the values, a plan coerces what
# graphql-core coerces, and refuses (to graphql-core) what it refuses.

SCHEMA = build_schema()._schema
ORDERS = "query($f: OrderFilter, $n: Int, $a: String) { orders(filter: $f, first: $n, after: $a) { totalCount } }"  # noqa: E501
OPERATIONS = [CREATE, UPDATE, CANCEL, ORDERS]

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(["1.5", "19.99", "2026-11-27T10:00:00Z", "PENDING", "SHIPPED", "-1"]),
)


def values_of(type_: GraphQLInputType, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for `type_`, mostly of its shape, with junk and odd keys mixed in."""
    if isinstance(type_, GraphQLNonNull):
        return values_of(type_.of_type, depth)
    if isinstance(type_, GraphQLList):
        item = values_of(type_.of_type, depth + 1)
        return st.one_of(st.lists(item, max_size=3), item, junk)
    if isinstance(type_, GraphQLInputObjectType):
        fields = {name: values_of(f.type, depth + 1) for name, f in type_.fields.items()}
        shaped = st.fixed_dictionaries({}, optional=fields)
        odd = st.dictionaries(st.sampled_from([*fields, "nope"]), junk, max_size=3)
        return st.one_of(shaped, shaped, odd, junk)
    if isinstance(type_, GraphQLEnumType):
        return st.one_of(st.sampled_from(list(type_.values)), junk)
    assert isinstance(type_, GraphQLScalarType)
    return junk


@pytest.mark.parametrize("operation", OPERATIONS, ids=["create", "update", "cancel", "orders"])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_schemas_variables_coerce_as_graphql_core_does(operation: str, data: Any) -> None:
    document = parse(operation)
    definitions = document.definitions[0].variable_definitions  # type: ignore[attr-defined]
    plan = plans.of(SCHEMA, document, None)
    assert plan is not None and plan.variables is not None
    variables = {v.name: values_of(v.signature.type) for v in plan.variables}
    inputs = data.draw(st.fixed_dictionaries({}, optional=variables))
    planned = plan.coerce(inputs)
    expected = get_variable_values(SCHEMA, definitions, inputs)
    if planned is not None:
        assert isinstance(expected, VariableValues)
        assert planned.coerced == expected.coerced
        assert _sources(planned) == _sources(expected)
    elif isinstance(expected, VariableValues):
        # Valid, yet not planned: only a missing variable with a default.
        assert any(d.default_value and d.variable.name.value not in inputs for d in definitions)


def _sources(values: VariableValues) -> list[tuple[Any, ...]]:
    """The sources, their signatures compared by value (graphql-core makes a
    new wrapping type per signature, equal only to itself)."""
    return [
        (name, s.signature.name, str(s.signature.type), s.signature.default, s.value)
        for name, s in values.sources.items()
    ]


class Named(str):
    pass


@pytest.mark.parametrize("scalar", [GraphQLString, GraphQLID, GraphQLInt, GraphQLBoolean])
@pytest.mark.parametrize("non_null", [True, False])
def test_built_in_scalars_taken_as_they_are_coerce_as_graphql_core_does(
    scalar: GraphQLScalarType, non_null: bool
) -> None:
    """A value of exactly the scalar's Python type is taken without the call
    to graphql-core's coercion: the same answer as the call, at the bounds,
    for subclasses, numbers as ids and bools as ints."""
    type_: GraphQLInputType = GraphQLNonNull(scalar) if non_null else scalar
    coerce, _ = plans_coercer(type_)
    values = [
        "text",
        Named("named"),
        "",
        "1",
        1,
        0,
        -1,
        2**31 - 1,
        2**31,
        -(2**31),
        -(2**31) - 1,
        1.0,
        1.5,
        True,
        False,
        None,
        Undefined,
        [1],
        {"a": 1},
    ]
    for value in values:
        if value is None or value is Undefined:
            expected: Any = Undefined if non_null else None
        else:
            try:
                expected = scalar.coerce_input_value(value)
            except GraphQLError:
                expected = Undefined
        got = coerce(value)
        assert (got, type(got)) == (expected, type(expected)), value
