"""Applying deliveries with gaps filled from the orders' own streams: when a
consumer gets version 3 of an order before another consumer committed version
2, the missing versions are read from the order's stream and applied first."""

from __future__ import annotations

from typing import Any

from ..eventstore.redis_store import RedisEventStore
from .projection import ProjectionError
from .store import Delivery, Gap, Outcome, ReadStore


async def apply_filled(
    store: ReadStore,
    events: RedisEventStore,
    deliveries: list[Delivery],
    generation: str | None = None,
    seen: dict[int, str] | None = None,
    **transaction: Any,
) -> Outcome:
    """Apply, filling version gaps; raises ProjectionError when they cannot be
    filled. `transaction` goes to ReadStore.apply (session, on_conflict)."""
    batch = list(deliveries)
    for _ in range(3):
        try:
            return await store.apply(batch, generation, seen, **transaction)
        except Gap as gap:
            batch = [d for d in batch if d.event.order_id not in gap.order_ids]
            for order_id in sorted(gap.order_ids):
                newest = max(d.event.version for d in deliveries if d.event.order_id == order_id)
                partition = events.keys.partition_of(order_id)
                stored = await events.read_stream(order_id, to_version=newest)
                batch += [Delivery(s.event, s.position, partition) for s in stored]
    raise ProjectionError("events of the order are missing from its stream")
