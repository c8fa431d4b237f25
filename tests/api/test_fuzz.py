"""Property-based fuzzing of the GraphQL API through HTTP: whatever the input,
no 500, no stack trace or internal message in a response, every error has a
code, and the event store stays a valid chain."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from orders_gql.eventstore.keys import KeySpace

from .graphql_client import CANCEL, CREATE, DELETE, UPDATE, order_input

text = st.one_of(
    st.text(max_size=120),
    st.sampled_from(["", " ", "a" * 300, "{p0}", "\x00", "ü@ß.de", "x@y.z", "../..", "$where"]),
)
numbers = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["1", "1.5", "1e9", "NaN", "-0.001", "19.99", "Infinity", "", "abc"]),
)
anything = st.one_of(text, numbers, st.none(), st.booleans(), st.lists(st.integers(), max_size=3))
items = st.lists(
    st.fixed_dictionaries(
        {"productId": text, "productName": text, "quantity": anything, "price": numbers}
    ),
    max_size=4,
)
create_vars = st.fixed_dictionaries(
    {
        "input": st.fixed_dictionaries(
            {"customerName": text, "customerEmail": text, "items": items}
        ),
        "key": st.one_of(st.none(), text),
    }
)
order_ids = st.one_of(text, st.just("known"))
valid_create = st.builds(
    lambda qty, price, key: {
        "input": order_input(
            items=[{"productId": "p1", "productName": "Pen", "quantity": qty, "price": price}]
        ),
        "key": key,
    },
    st.integers(-5, 10_005),
    st.sampled_from(["0", "1.00", "2.5", "0.001", "-1", "999999.99"]),
    st.one_of(st.none(), st.sampled_from(["k1", "k2", "bad key"])),
)
commands = st.one_of(
    st.tuples(st.just(CREATE), create_vars),
    st.tuples(st.just(CREATE), valid_create),
    st.tuples(
        st.just(UPDATE),
        st.fixed_dictionaries(
            {
                "id": order_ids,
                "status": st.one_of(
                    st.sampled_from(["CONFIRMED", "PROCESSING", "SHIPPED", "DELIVERED"]), text
                ),
                "v": st.one_of(st.none(), st.integers(-3, 10), text),
            }
        ),
    ),
    st.tuples(
        st.just(CANCEL),
        st.fixed_dictionaries({"id": order_ids, "reason": anything, "v": st.none()}),
    ),
    st.tuples(st.just(DELETE), st.fixed_dictionaries({"id": order_ids})),
    st.tuples(
        st.just(
            "query($f: OrderFilter, $n: Int, $a: String, $q: String!) {"
            " orders(filter: $f, first: $n, after: $a) { totalCount }"
            " searchOrders(q: $q) { totalCount } }"
        ),
        st.fixed_dictionaries(
            {
                "f": st.one_of(
                    st.none(),
                    st.fixed_dictionaries(
                        {"status": text, "minAmount": numbers, "customerEmail": text}
                    ),
                ),
                "n": anything,
                "a": st.one_of(st.none(), text),
                "q": text,
            }
        ),
    ),
    st.tuples(text, st.just({})),  # not even GraphQL
)

LEAKS = ("Traceback", 'File "', "redis.", "pymongo", "Error(", "orders_gql/")


def check_response(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert not any(leak in response.text for leak in LEAKS), response.text
    body: dict[str, Any] = response.json()
    for error in body.get("errors") or []:
        assert error["extensions"]["code"], error
        assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", error


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(commands, min_size=1, max_size=6))
async def test_no_input_breaks_the_api_or_the_event_chain(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace, steps: list[tuple[str, Any]]
) -> None:
    for query, variables in steps:
        if variables.get("id") == "known":
            log = await redis.xrevrange(keys.log(), count=1)
            if log:
                variables = {**variables, "id": _order_of(log[0][1][b"e"])}
        response = await client.post("/graphql", json={"query": query, "variables": variables})
        check_response(response)
    streams = [k async for k in redis.scan_iter(match=keys.order("*"))]
    total = 0
    for stream in streams:
        ids = [e[0] for e in await redis.xrange(stream)]
        assert ids == [f"{n}-0".encode() for n in range(1, len(ids) + 1)]
        total += len(ids)
    assert await redis.xlen(keys.log()) == total


def _order_of(raw: bytes) -> str:
    import orjson

    return str(orjson.loads(raw)["orderId"])
