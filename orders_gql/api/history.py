"""Queries answered from the event store: an order's audit trail and its past states."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from ..domain.errors import DomainError, OrderNotFound
from ..domain.events import DomainEvent
from ..eventstore.codec import event_to_json
from ..eventstore.redis_store import EventStoreUnavailable, StoredEvent
from .auth import Role
from .context import Info
from .errors import BadUserInput, ServiceUnavailable, order_id_argument
from .types import Order


@strawberry.type(description="One event of an order's history, as stored.")
class OrderEvent:
    event_id: strawberry.ID = strawberry.field(
        description="Deterministic: a retried command produces the same id."
    )
    type: str = strawberry.field(
        description="OrderCreated, OrderStatusChanged, OrderCancelled or OrderDeleted "
        "(docs/events.md)."
    )
    order_id: strawberry.ID
    version: int = strawberry.field(
        description="The order's version after this event: 1, 2, 3, ... without gaps."
    )
    occurred_at: datetime = strawberry.field(description="When the command was decided (UTC).")
    position: str = strawberry.field(
        description="Its place in the event log: pass it as orderEvents(after:) or consistentWith."
    )
    schema_version: int = strawberry.field(
        description="Shape of data for this type; older shapes are brought up to date as "
        "they are read."
    )
    data: JSON = strawberry.field(description="The type's own fields; money as decimal strings.")
    metadata: JSON = strawberry.field(
        description="commandId, correlationId (the request's X-Correlation-ID) and "
        "issuedBy (role:subject)."
    )

    @classmethod
    def from_stored(cls, stored: StoredEvent) -> OrderEvent:
        doc: dict[str, Any] = event_to_json(stored.event)
        return cls(
            event_id=strawberry.ID(doc["eventId"]),
            type=doc["type"],
            order_id=strawberry.ID(doc["orderId"]),
            version=doc["version"],
            occurred_at=stored.event.occurred_at,
            position=stored.position,
            schema_version=doc["schemaVersion"],
            data=doc["data"],
            metadata=doc["metadata"],
        )


class SharedOrderEvents:
    """OrderEvent.from_stored, built once per event for every subscriber it
    reaches: the hub hands all of them the same event object. Keyed by that
    object's identity (kept, so the id is not reused), the last `size` events."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._built: OrderedDict[int, tuple[DomainEvent, OrderEvent]] = OrderedDict()

    def of(self, stored: StoredEvent) -> OrderEvent:
        key = id(stored.event)
        found = self._built.get(key)
        if found is None or found[0] is not stored.event:
            built = OrderEvent.from_stored(stored)
            self._built[key] = (stored.event, built)
            if len(self._built) > self.size:
                self._built.popitem(last=False)
            return built
        built = found[1]
        if built.position != stored.position:  # over partitions, each subscriber's own
            return replace(built, position=stored.position)
        return built


async def order_history(info: Info, order_id: strawberry.ID) -> list[OrderEvent]:
    """Every event of one order, oldest first; deleted orders keep their history."""
    who = info.context.require(Role.CUSTOMER, Role.STAFF, Role.ADMIN, what="orderHistory")
    order_id_argument(order_id)
    try:
        stored = await info.context.service.store.read_stream(str(order_id))
    except DomainError as err:
        raise BadUserInput("orderId", err.message) from err
    except EventStoreUnavailable as exc:
        raise ServiceUnavailable("the event store") from exc
    if stored and not who.may_see(stored[0].event.customer_email):  # type: ignore[attr-defined]
        return []  # another customer's order: as if it did not exist
    store = info.context.service.store
    return [
        OrderEvent.from_stored(replace(s, position=store.position(str(order_id), s.position)))
        for s in stored
    ]


async def order_from_events(
    info: Info, order_id: strawberry.ID, as_of_version: int | None = None
) -> Order | None:
    """The order folded from its events (the write side's view), or null."""
    who = info.context.require(Role.CUSTOMER, Role.STAFF, Role.ADMIN, what="order")
    try:
        state = await info.context.service.get(str(order_id), as_of_version=as_of_version)
    except OrderNotFound:
        return None
    except DomainError as err:
        field = "asOfVersion" if "asOfVersion" in err.message else "orderId"
        raise BadUserInput(field, err.message.split(": ", 1)[-1]) from err
    except EventStoreUnavailable as exc:
        raise ServiceUnavailable("the event store") from exc
    if (state.deleted and as_of_version is None) or not who.may_see(state.customer_email):
        return None
    return Order.from_state(state)
