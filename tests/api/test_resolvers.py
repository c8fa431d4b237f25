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
from strawberry.types.arguments import convert_argument

from orders_gql.api import resolvers
from orders_gql.api.input_builders import install_input_builders
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


@strawberry.input
class Nib:
    width: int
    colour: Colour = Colour.RED


@strawberry.input
class Refill:
    nib: Nib
    spares: list[Nib] = strawberry.field(default_factory=list)
    note: str | None = None


@strawberry.type
class Shop:
    @strawberry.field
    def refill(
        self,
        refill: Refill,
        also: list[Nib | None] | None = None,
        n: int = 0,
        where: Where | None = None,
    ) -> str:
        return repr((refill, also, n, where))


def built_schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    """Both with input builders; ours with direct resolvers too."""
    ours, theirs = strawberry.Schema(Shop), strawberry.Schema(Shop)
    for schema in (ours, theirs):
        install_input_builders(schema)
    install_direct_resolvers(ours)
    return ours, theirs


BUILT: list[tuple[str, dict[str, Any] | None]] = [
    ("{ refill(refill: {nib: {width: 2}}) }", None),
    (
        "query($r: Refill!, $a: [Nib]) { refill(refill: $r, also: $a, n: 3) }",
        {
            "r": {"nib": {"width": 1, "colour": "BLUE"}, "spares": [{"width": 4}], "note": None},
            "a": [None, {"width": 5}],
        },
    ),
    ("query($a: [Nib]) { refill(refill: {nib: {width: 1}}, also: $a) }", {"a": None}),
    ('{ refill(refill: {nib: {width: 1}}, where: {at: "x"}) }', None),
]


@pytest.mark.parametrize(("query", "variables"), BUILT)
def test_inputs_with_builders_convert_as_strawberry_converts_them(
    query: str, variables: dict[str, Any] | None
) -> None:
    ours, theirs = built_schemas()
    answer = run(ours, query, variables)
    assert answer == run(theirs, query, variables)
    assert answer[0] and answer[0]["refill"].startswith("(Refill(nib=Nib(width=")


def test_inputs_with_builders_skip_strawberrys_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    """Built inputs, lists of them and scalars go by the builders; an input
    with a hook of its own inside (Where) by strawberry's convert_argument."""
    ours, _ = built_schemas()
    calls: list[Any] = []

    def spy(value: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(value)
        return convert_argument(value, *args, **kwargs)

    monkeypatch.setattr(resolvers, "convert_argument", spy)
    data, errors = run(ours, BUILT[1][0], BUILT[1][1])
    assert not errors and "spares=[Nib(width=4, colour=<Colour.RED" in data["refill"]
    assert calls == [None]  # only `where`, by its default
    # The one with a hook of its own: strawberry's conversion, which calls it
    # with its context.
    data, errors = run(ours, BUILT[3][0])
    assert not errors and "at ('where',) for refill" in data["refill"]
    assert calls == [None, {"at": "x"}]
