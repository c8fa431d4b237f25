"""The precomputed input builders give what strawberry's own conversion gives,
for the schema's input types and for shapes the schema does not use yet."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry.types.arguments import convert_argument

from orders_gql.api.input_builders import install_input_builders
from orders_gql.api.queries import OrderFilter
from orders_gql.api.schema import build_schema
from orders_gql.api.types import CreateOrderInput, OrderItemInput
from orders_gql.domain.model import OrderStatus


@contextlib.contextmanager
def generic(*types: type) -> Iterator[None]:
    """Strawberry's own conversion for `types` meanwhile."""
    saved = [(t, t.__strawberry_definition__.from_input) for t in types]  # type: ignore[attr-defined]
    for t, _ in saved:
        t.__strawberry_definition__.from_input = None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for t, hook in saved:
            t.__strawberry_definition__.from_input = hook  # type: ignore[attr-defined]


def both(schema: strawberry.Schema, value: Any, type_: type, *types: type) -> tuple[Any, Any]:
    registry = schema.schema_converter.scalar_registry
    ours = convert_argument(value, type_, registry, schema.config)
    with generic(type_, *types):
        theirs = convert_argument(value, type_, registry, schema.config)
    return ours, theirs


ITEM = {"productId": "p", "productName": "Pen", "quantity": 3, "price": Decimal("1.50")}


@pytest.mark.parametrize(
    ("value", "type_"),
    [
        (
            {"customerName": "Ada", "customerEmail": "a@x.io", "items": [ITEM, dict(ITEM)]},
            CreateOrderInput,
        ),
        ({"customerName": "Ada", "customerEmail": "a@x.io", "items": []}, CreateOrderInput),
        ({}, OrderFilter),
        ({"status": OrderStatus.SHIPPED, "customerEmail": None}, OrderFilter),
        (
            {
                "fromDate": datetime(2026, 1, 1, tzinfo=UTC),
                "toDate": None,
                "minAmount": Decimal("5"),
                "maxAmount": Decimal("10.25"),
            },
            OrderFilter,
        ),
    ],
)
def test_schema_inputs_convert_like_strawberry(value: dict[str, Any], type_: type) -> None:
    schema = build_schema()
    ours, theirs = both(schema, value, type_, OrderItemInput)
    assert ours == theirs
    assert type(ours) is type_


def test_the_schema_builds_its_inputs_with_the_builders() -> None:
    schema = build_schema()
    calls = []
    definition = CreateOrderInput.__strawberry_definition__  # type: ignore[attr-defined]
    hook = definition.from_input
    assert hook is not None

    def counting(cls: type, value: Any, context: Any) -> Any:
        calls.append(value)
        return hook(cls, value, context)

    definition.from_input = counting
    try:
        built = convert_argument(
            {"customerName": "A", "customerEmail": "a@x.io", "items": [ITEM]},
            CreateOrderInput,
            schema.schema_converter.scalar_registry,
            schema.config,
        )
    finally:
        definition.from_input = hook
    assert len(calls) == 1
    assert built.items == [
        OrderItemInput(product_id="p", product_name="Pen", quantity=3, price=Decimal("1.50"))
    ]  # type: ignore[attr-defined]


class Colour(Enum):
    RED = "red"


@strawberry.input
class Leaf:
    name: str
    size: int = 7
    tags: list[str] = strawberry.field(default_factory=lambda: ["t"])


@strawberry.input
class Tree:
    label: str | None
    colour: Colour | None = None
    leaves: list[Leaf | None] | None = None
    child: Tree | None = None


@strawberry.input
class WithMaybe:
    note: strawberry.Maybe[str]


@strawberry.input
class HoldsMaybe:
    inner: WithMaybe


@strawberry.type
class Q:
    @strawberry.field
    def tree(self, t: Tree, m: HoldsMaybe | None = None) -> int:
        return 0


@pytest.fixture(scope="module")
def toy() -> Iterator[tuple[strawberry.Schema, list[str]]]:
    schema = strawberry.Schema(query=Q)
    installed = install_input_builders(schema)
    yield schema, installed
    for t in (Leaf, Tree, WithMaybe, HoldsMaybe):
        t.__strawberry_definition__.from_input = None  # type: ignore[attr-defined]


def test_types_strawberry_must_convert_keep_its_conversion(
    toy: tuple[strawberry.Schema, list[str]],
) -> None:
    _, installed = toy
    assert sorted(installed) == ["Leaf", "Tree"]


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"label": None},
        {"label": "root", "colour": Colour.RED},
        {"label": "a", "leaves": [{"name": "x"}, None, {"name": "y", "size": 2, "tags": []}]},
        {"label": "a", "child": {"label": "b", "child": {"label": "c", "leaves": None}}},
    ],
)
def test_nested_lists_defaults_and_recursion_convert_like_strawberry(
    toy: tuple[strawberry.Schema, list[str]], value: dict[str, Any]
) -> None:
    schema, _ = toy
    ours, theirs = both(schema, value, Tree, Leaf)
    assert ours == theirs


def test_lists_are_copied_not_shared(toy: tuple[strawberry.Schema, list[str]]) -> None:
    schema, _ = toy
    tags = ["a", "b"]
    leaf = convert_argument(
        {"name": "n", "tags": tags}, Leaf, schema.schema_converter.scalar_registry, schema.config
    )
    leaf.tags.append("c")  # type: ignore[attr-defined]
    assert tags == ["a", "b"]
