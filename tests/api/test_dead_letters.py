"""A poison event is parked after N attempts, its order's later events wait
behind it, other orders keep flowing; operators list and retry dead letters."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from redis.asyncio import Redis

from orders_gql.domain.events import OrderStatusChanged
from orders_gql.domain.status import OrderStatus
from orders_gql.eventstore.codec import UPCASTERS
from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.redis_store import RedisEventStore

from ..poison import append_old_schema_event, upcast_v0
from .gql import change, create, gql, ok

LETTERS = "{ deadLetters { orderId version reason attempts error eventType } }"
RETRY = "mutation { retryDeadLetters { applied stillDead } }"
ORDER = "query($id: ID!, $p: String) { order(orderId: $id, consistentWith: $p) { status version } }"


async def test_poison_is_parked_later_events_wait_and_retry_applies_them(
    client: httpx.AsyncClient,
    redis: Redis,
    keys: KeySpace,
    store: RedisEventStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    poisoned, _ = await create(client, name="Poisoned")
    await append_old_schema_event(redis, keys, poisoned)
    later = OrderStatusChanged(
        event_id="new-3", order_id=poisoned, version=3, occurred_at=datetime.now(UTC),
        metadata={}, from_status=OrderStatus.CONFIRMED, to_status=OrderStatus.PROCESSING,
    )  # fmt: skip
    appended = await store.append(poisoned, 2, [later])
    behind = store.position(poisoned, appended.positions[-1])
    healthy, pos = await create(client, name="Healthy")
    pos = await change(client, healthy, "CONFIRMED")

    # other orders flow; the poisoned order stays at the version before the poison
    assert (await ok(client, ORDER, id=healthy, p=pos))["order"]["status"] == "CONFIRMED"
    assert (await ok(client, ORDER, id=poisoned))["order"] == {"status": "PENDING", "version": 1}
    letters = (await ok(client, LETTERS))["deadLetters"]
    assert [(x["version"], x["reason"]) for x in letters] == [(2, "FAILED"), (3, "BLOCKED")]
    assert letters[0]["attempts"] == 3
    assert "KeyError" in letters[0]["error"]
    # reading your write of a parked event says so, instead of the view without it
    refused = await gql(client, ORDER, id=poisoned, p=behind)
    assert refused["data"] == {"order": None}
    assert refused["errors"][0]["extensions"]["code"] == "EVENT_PARKED"
    assert refused["errors"][0]["extensions"]["field"] == "consistentWith"

    # retrying without a fix parks them again, in order
    assert (await ok(client, RETRY))["retryDeadLetters"] == {"applied": 0, "stillDead": 2}
    assert [x["version"] for x in (await ok(client, LETTERS))["deadLetters"]] == [2, 3]

    # deploy the missing upcaster, retry: both apply, in order
    monkeypatch.setitem(UPCASTERS, ("OrderStatusChanged", 0), upcast_v0)
    assert (await ok(client, RETRY))["retryDeadLetters"] == {"applied": 2, "stillDead": 0}
    assert (await ok(client, LETTERS))["deadLetters"] == []
    assert (await ok(client, ORDER, id=poisoned, p=behind))["order"] == {
        "status": "PROCESSING", "version": 3
    }  # fmt: skip
    # and the order is no longer blocked: its next event is projected as usual
    pos = await change(client, poisoned, "SHIPPED")
    assert (await ok(client, ORDER, id=poisoned, p=pos))["order"]["version"] == 4


@pytest.mark.parametrize(
    "query",
    [
        '{ deadLetters(orderId: "a b") { orderId } }',
        'mutation { retryDeadLetters(orderId: "") { applied } }',
    ],
)
async def test_an_invalid_order_id_is_refused_like_elsewhere(
    client: httpx.AsyncClient, query: str
) -> None:
    body = await gql(client, query)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "orderId"
