"""Plain scalar and enum fields read in one step (api/leaves.py) answer what
strawberry's own executor answers: values, nulls, errors with their paths,
middleware, __typename; and the schema's order fields take that step."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, NewType

import pytest
import strawberry
from graphql import GraphQLObjectType
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from orders_gql.api.leaves import LeafFieldsExecutor, leaf_of
from orders_gql.api.schema import build_schema

from .gql import execute as run


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


async def _later(value: Any) -> Any:
    return value


Odd = NewType("Odd", str)
ODD = strawberry.scalar(
    name="Odd",
    serialize=lambda v: None if v == "none" else v,  # no value for "none"
    parse_value=str,
)


@strawberry.type
class Thing:
    name: str
    count: int
    price: Decimal
    at: datetime
    colour: Colour
    ident: strawberry.ID
    maybe: str | None
    discount: Decimal | None  # a custom scalar: strawberry serializes it with str()
    must: str  # set to None, an Exception or a wrong type by the cases below
    odd: Odd | None = None
    flag: bool = False

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Other:
    label: str


Either = Annotated[Thing | Other, strawberry.union("Either")]


def thing(**overrides: Any) -> Thing:
    values: dict[str, Any] = {
        "name": "pen",
        "count": 3,
        "price": Decimal("1.50"),
        "at": datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
        "colour": Colour.BLUE,
        "ident": strawberry.ID("t-1"),
        "maybe": None,
        "discount": None,
        "must": "yes",
    }
    values.update(overrides)
    return Thing(**values)


@strawberry.type
class Query:
    @strawberry.field
    async def things(self, case: str = "plain") -> list[Thing]:
        odd: dict[str, Any] = {
            "plain": {},
            "awaitable": (
                {"maybe": _later("later"), "discount": _later(Decimal("0.5"))}
                if case == "awaitable"
                else {}
            ),
            "null": {"must": None},
            "error": {"must": ValueError("refused"), "price": ValueError("no price")},
            "wrong": {"must": {"not": "a string"}},
            "count": {"count": 2**40},  # out of Int's range
            "colour": {"colour": "green"},
            "odd": {"odd": "none"},
        }[case]
        return [thing(), thing(name="cup", **odd), thing(flag=True)]

    @strawberry.field
    def either(self, other: bool = False) -> Either:
        return Other(label="o") if other else thing()


class Upper(SchemaExtension):
    """Middleware: every string result upper-cased."""

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        result = _next(root, info, *args, **kwargs)
        return result.upper() if isinstance(result, str) else result


def schemas(*extensions: type[SchemaExtension]) -> tuple[strawberry.Schema, strawberry.Schema]:
    def make(executor: type) -> strawberry.Schema:
        return strawberry.Schema(
            Query,
            extensions=list(extensions),
            execution_context_class=executor,
            config=StrawberryConfig(scalar_map={Odd: ODD}),
        )

    return make(LeafFieldsExecutor), make(StrawberryGraphQLCoreExecutionContext)


ALL = "name count price at colour ident maybe discount must odd flag shout __typename"
DOCUMENTS = [
    f"{{ things {{ {ALL} }} }}",
    f'{{ things(case: "null") {{ {ALL} }} }}',
    '{ things(case: "error") { name must } }',
    '{ things(case: "error") { name price } }',
    '{ things(case: "wrong") { must count } }',
    '{ things(case: "count") { count name } }',
    '{ things(case: "awaitable") { maybe discount } }',
    '{ things(case: "colour") { colour } }',
    '{ things(case: "odd") { odd name } }',
    "{ __typename things { n: name again: name } }",
    "{ either { __typename ... on Thing { name colour } ... on Other { label } } }",
    "{ either(other: true) { __typename ... on Thing { name } ... on Other { label } } }",
    "{ things { ... on Thing { name } ...F } } fragment F on Thing { count @skip(if: true) }",
]


@pytest.mark.parametrize("query", DOCUMENTS)
def test_leaves_answer_what_strawberry_answers(query: str) -> None:
    ours, theirs = schemas()
    assert run(ours, query) == run(theirs, query)


@pytest.mark.parametrize("query", DOCUMENTS)
def test_leaves_go_through_resolver_middleware(query: str) -> None:
    ours, theirs = schemas(Upper)
    data, errors = run(ours, query)
    assert (data, errors) == run(theirs, query)
    if data and "things" in data and data["things"] and "name" in data["things"][0]:
        assert data["things"][0]["name"] == "PEN"


def test_the_error_cases_are_errors() -> None:
    """The differential test above would pass if both sides lost the errors."""
    ours, _ = schemas()
    data, errors = run(ours, '{ things(case: "null") { name must } }')
    assert data is None
    assert errors[0]["path"] == ["things", 1, "must"]
    assert "Cannot return null for non-nullable field Thing.must" in errors[0]["message"]
    _, errors = run(ours, '{ things(case: "count") { count } }')
    assert errors[0]["path"] == ["things", 1, "count"]


def test_plain_values_take_one_step(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: set[str] = set()
    general = StrawberryGraphQLCoreExecutionContext.execute_field

    def spy(self: Any, parent: Any, source: Any, details: Any, *rest: Any) -> Any:
        seen.add(details[0].node.name.value)
        return general(self, parent, source, details, *rest)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_field", spy)
    ours, _ = schemas()
    run(ours, "{ things { name count colour __typename } }")
    assert seen == {"things"}  # the root field only; its leaves took the step


def test_the_schemas_order_fields_take_one_step() -> None:
    schema = build_schema()
    core = schema._schema
    order = core.get_type("Order")
    assert isinstance(order, GraphQLObjectType)
    plain = {"orderId", "customerName", "customerEmail", "totalAmount", "status", "version",
             "orderDate", "updatedAt", "deleted", "cancellationReason"}  # fmt: skip
    assert {name for name in order.fields if leaf_of(core, order, name)} == plain
    item = core.get_type("OrderItem")
    assert isinstance(item, GraphQLObjectType)
    assert all(leaf_of(core, item, name) for name in item.fields)
