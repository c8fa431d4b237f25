"""Resolvers called directly (api/resolvers.py) answer what strawberry's own
resolvers answer: arguments converted alike (given, omitted, null, inputs,
enums, lists), the source and the Info where a function asks for them, sync
and async, errors; fields with extensions or permissions keep strawberry's."""

from __future__ import annotations

import enum
from typing import Any

import pytest
import strawberry
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission
from strawberry.types import Info

from orders_gql.api.resolvers import install_direct_resolvers
from orders_gql.api.schema import build_schema

from .gql import execute as run


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.input
class Pen:
    colour: Colour
    tips: list[int] = strawberry.field(default_factory=lambda: [1])
    label: str | None = None


@strawberry.input
class Where:
    """Builds itself, and says where in the arguments it was given."""

    at: str = ""


Where.__strawberry_definition__.from_input = lambda cls, value, context: cls(  # type: ignore[attr-defined]
    at=f"{value} at {context.path} for {context.info.field_name}"
)


class Refused(BasePermission):
    message = "refused"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return False


class Twice(FieldExtension):
    def resolve(self, next_: Any, source: Any, info: Info, **kwargs: Any) -> Any:
        return next_(source, info, **kwargs) * 2


async def _later(value: Any) -> Any:
    return value


@strawberry.type
class Box:
    name: str

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.name.upper() * times

    @strawberry.field
    def parent_name(self, parent: strawberry.Parent[Box]) -> str:
        return f"parent {parent.name}"

    @strawberry.field
    async def path(self, where: Info) -> str:
        return f"{where.path.key} under {where.path.prev.key if where.path.prev else None}"


def module_resolver(info: Info, n: int | None = None) -> str:
    return f"{info.field_name} {n!r}"


@strawberry.type
class Query:
    plain = strawberry.field(resolver=module_resolver)

    @strawberry.field
    def pen(self, pen: Pen, colours: list[Colour] | None = None) -> str:
        return repr((pen, colours))

    @strawberry.field
    async def later(self, text: str = "x", maybe: str | None = "default") -> str:
        return repr((text, maybe))

    @strawberry.field
    def unset(self, maybe: str | None = strawberry.UNSET, where: Where | None = None) -> str:
        return repr((maybe, where))

    @strawberry.field
    def awaited(self) -> str:  # sync, returning an awaitable
        return _later("from a sync resolver")  # type: ignore[return-value]

    @strawberry.field
    def fails(self, how: str = "value") -> str:
        if how == "value":
            raise ValueError("no value")
        raise strawberry.exceptions.StrawberryGraphQLError("typed", extensions={"code": "X"})

    @strawberry.field
    async def fails_later(self) -> str:
        raise KeyError("later")

    @strawberry.field
    def boxes(self) -> list[Box]:
        return [Box(name="a"), Box(name="b")]

    @strawberry.field(permission_classes=[Refused])
    def secret(self) -> str:
        return "secret"

    @strawberry.field(extensions=[Twice()])
    def doubled(self, n: int = 2) -> int:
        return n


def schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    ours, theirs = strawberry.Schema(Query), strawberry.Schema(Query)
    install_direct_resolvers(ours)
    return ours, theirs


DOCUMENTS: list[tuple[str, dict[str, Any] | None]] = [
    ("{ plain plainToo: plain(n: 3) plainNull: plain(n: null) }", None),
    (
        "{ pen(pen: {colour: BLUE}) "
        'withAll: pen(pen: {colour: RED, tips: [2, 3], label: "l"}, colours: [RED, BLUE]) }',
        None,
    ),
    (
        "query($p: Pen!, $c: [Colour!]) { pen(pen: $p, colours: $c) }",
        {"p": {"colour": "RED", "tips": 4}, "c": ["BLUE"]},
    ),
    ('{ later a: later(text: "t") b: later(maybe: null) c: later(text: "t", maybe: "m") }', None),
    ('{ unset a: unset(maybe: null) b: unset(maybe: "m", where: {}) }', None),
    ("query($w: Where) { unset(where: $w) }", {"w": {"at": "x"}}),
    ("{ awaited }", None),
    ("{ fails }", None),
    ('{ fails(how: "typed") }', None),
    ("{ failsLater }", None),
    ("{ boxes { name shout loud: shout(times: 3) parentName path } }", None),
    ("{ secret }", None),
    ("{ doubled d: doubled(n: 5) }", None),
]


@pytest.mark.parametrize(("query", "variables"), DOCUMENTS)
def test_direct_resolvers_answer_what_strawberry_answers(
    query: str, variables: dict[str, Any] | None
) -> None:
    ours, theirs = schemas()
    assert run(ours, query, variables) == run(theirs, query, variables)


def test_the_answers_are_the_resolvers() -> None:
    """The differential test above would pass if both sides answered nothing."""
    ours, _ = schemas()
    data, _ = run(ours, DOCUMENTS[0][0])
    assert data == {"plain": "plain None", "plainToo": "plain 3", "plainNull": "plain None"}
    data, _ = run(ours, "{ later b: later(maybe: null) }")
    assert data == {"later": "('x', 'default')", "b": "('x', None)"}
    data, _ = run(ours, "{ boxes { parentName path } }")
    assert data["boxes"][1] == {"parentName": "parent b", "path": "path under 1"}
    assert run(ours, "{ secret }")[1][0]["message"] == "refused"
    assert run(ours, "{ doubled }")[0] == {"doubled": 4}
    data, _ = run(ours, '{ unset b: unset(maybe: "m", where: {at: "x"}) }')
    assert data == {
        "unset": "(UNSET, None)",
        "b": "('m', Where(at=\"{'at': 'x'} at ('where',) for unset\"))",
    }


def test_only_plain_fields_are_direct() -> None:
    ours = strawberry.Schema(Query)
    installed = set(install_direct_resolvers(ours))
    assert {"Query.plain", "Query.pen", "Query.later", "Box.shout", "Box.path"} <= installed
    assert not installed & {"Query.secret", "Query.doubled", "Box.name"}


def test_the_schemas_resolvers_are_direct() -> None:
    installed = set(install_direct_resolvers(build_schema()))
    assert {"Mutation.createOrder", "Query.order", "Query.orders"} <= installed
    assert not any(name.startswith("Subscription.") for name in installed)
