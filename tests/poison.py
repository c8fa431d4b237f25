"""A poison event for dead-letter tests: version 2 of an order, written in a
schema version no upcaster knows (until a test deploys `upcast_v0`)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from redis.asyncio import Redis

from orders_gql.eventstore.keys import KeySpace


async def append_old_schema_event(redis: Redis, keys: KeySpace, order_id: str) -> str:
    """Append it to the log and the order's stream; its log position."""
    raw = orjson.dumps({
        "type": "OrderStatusChanged", "schemaVersion": 0, "eventId": "old-2",
        "orderId": order_id, "version": 2, "occurredAt": datetime.now(UTC).isoformat(),
        "metadata": {}, "data": {"from": "pending", "to": "confirmed"},
    })  # fmt: skip
    position = await redis.xadd(keys.log(), {"e": raw})
    await redis.xadd(keys.order(order_id), {"e": raw, "p": position}, id="2-0")
    return str(position.decode())


def upcast_v0(data: dict[str, str]) -> dict[str, str]:
    """The upcaster the poison needs."""
    return {"fromStatus": data["from"], "toStatus": data["to"]}
