"""Snapshots: loading with and without them gives the same state, on random
command sequences run against a real server."""

from __future__ import annotations

import contextlib
import uuid
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from orders_gql.domain.commands import (
    CancelOrder,
    CreateOrder,
    DeleteOrder,
    ItemInput,
    Metadata,
    UpdateOrderStatus,
)
from orders_gql.domain.errors import DomainError
from orders_gql.domain.status import OrderStatus
from orders_gql.embedded import EmbeddedRedis
from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.service import OrderService

ITEM = ItemInput("sku", "Teapot", 2, Decimal("12.34"))
steps = st.lists(
    st.one_of(
        st.sampled_from([UpdateOrderStatus("o", s) for s in OrderStatus]),
        st.builds(lambda r: CancelOrder("o", r), st.text(min_size=1, max_size=20)),
        st.just(DeleteOrder("o")),
        st.just(CreateOrder("o", "Ada Lovelace", "ada@example.com", (ITEM,))),
    ),
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(commands=steps, every=st.integers(min_value=1, max_value=4))
async def test_state_with_and_without_snapshots_is_identical(
    redis_server: EmbeddedRedis, commands: list[object], every: int
) -> None:
    redis = Redis.from_url(redis_server.url)
    try:
        store = RedisEventStore(redis, KeySpace(prefix=f"h{uuid.uuid4().hex[:10]}"))
        service = OrderService(store, snapshot_every=every)
        order_id = "o"
        first = CreateOrder(order_id, "Grace Hopper", "grace@example.com", (ITEM,))
        await service.execute(first, metadata=Metadata("c0", "r"))
        for n, command in enumerate(commands, start=1):
            # Refused commands write nothing; the state must still agree.
            with contextlib.suppress(DomainError):
                await service.execute(command, metadata=Metadata(f"c{n}", "r"))  # type: ignore[arg-type]
        with_snapshot = await service.load(order_id, use_snapshot=True)
        without = await service.load(order_id, use_snapshot=False)
        assert with_snapshot == without
        assert with_snapshot.version == await redis.xlen(store.keys.order(order_id))
        if with_snapshot.version >= every:
            assert await redis.exists(store.keys.snapshot(order_id))
    finally:
        await redis.aclose()
