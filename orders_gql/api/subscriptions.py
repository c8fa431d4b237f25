"""Subscriptions: order events and order states as they change, over websockets
(graphql-transport-ws and the legacy graphql-ws)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, TypeVar

import strawberry
from graphql import GraphQLError

from ..domain.errors import DomainError, OrderNotFound
from ..domain.events import EVENT_TYPES
from ..domain.validation import normalise_email
from ..eventstore.positions import InvalidPosition, Position, parse_position
from ..eventstore.redis_store import EventStoreUnavailable
from ..live.feeds import LiveFeeds, SubscriberTooSlow
from ..live.subscription import EventFilter
from ..service import check_order_id
from .auth import Forbidden, Role
from .context import Info
from .errors import BadUserInput, ServiceUnavailable
from .history import OrderEvent, SharedOrderEvents
from .types import Order

log = logging.getLogger("orders_gql.api")
T = TypeVar("T")

_order_events = SharedOrderEvents()


class SubscriberTooSlowError(GraphQLError):
    """The subscription ended because its client did not keep up."""

    def __init__(self, exc: SubscriberTooSlow) -> None:
        extensions: dict[str, object] = {"code": "SUBSCRIBER_TOO_SLOW", "buffer": exc.capacity}
        hint = "resubscribe"
        if exc.resume_after is not None:
            extensions["resumeAfter"] = exc.resume_after
            hint = f"resubscribe with after: {exc.resume_after!r}"
        super().__init__(
            f"more than {exc.capacity} events were waiting for this client; {hint}",
            extensions=extensions,
        )


def _feeds(info: Info) -> LiveFeeds:
    if info.context.live is None:
        raise ServiceUnavailable("live delivery")
    return info.context.live


def _wants(
    order_id: strawberry.ID | None, customer_email: str | None, types: list[str] | None
) -> EventFilter:
    try:
        oid = check_order_id(str(order_id)) if order_id is not None else None
        email = normalise_email("customerEmail", customer_email) if customer_email else None
    except DomainError as err:
        field = "customerEmail" if customer_email and "email" in err.message else "orderId"
        raise BadUserInput(field, err.message.split(": ", 1)[-1]) from err
    if types is not None and not types:  # a UI with every box unticked: nothing would come
        raise BadUserInput("types", "name at least one event type, or leave types out for all")
    unknown = sorted(set(types or ()) - EVENT_TYPES.keys())
    if unknown:
        known = ", ".join(sorted(EVENT_TYPES))
        raise BadUserInput("types", f"unknown event type {unknown[0]!r}; known: {known}")
    return EventFilter(oid, frozenset(types) if types is not None else None, email)


async def _delivered(feed: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """Yield from a feed, closing it when the client leaves; failures become
    GraphQL errors with a code, and the subscription ends. Close it with aclosing:
    an async generator left to the garbage collector is closed only later."""
    async with contextlib.aclosing(feed):  # type: ignore[type-var]
        try:
            async for item in feed:
                yield item
        except SubscriberTooSlow as exc:
            raise SubscriberTooSlowError(exc) from exc
        except EventStoreUnavailable as exc:
            raise ServiceUnavailable("the event store") from exc
        except OrderNotFound as err:
            raise BadUserInput("orderId", err.message, code="ORDER_NOT_FOUND") from err


async def order_events(
    info: Info,
    order_id: Annotated[
        strawberry.ID | None, strawberry.argument(description="Only this order's events.")
    ] = None,
    customer_email: Annotated[
        str | None,
        strawberry.argument(
            description="Only the events of this customer's orders (a customer: always their own)."
        ),
    ] = None,
    types: Annotated[
        list[str] | None,
        strawberry.argument(
            description="Only these types: OrderCreated, OrderStatusChanged, OrderCancelled, "
            "OrderDeleted."
        ),
    ] = None,
    after: Annotated[
        str | None,
        strawberry.argument(
            description="A position (a mutation's, or the last event's): first the events "
            "since then, from the event store, then live, with no gap and no duplicate."
        ),
    ] = None,
) -> AsyncGenerator[OrderEvent, None]:
    """Events as they are appended, filtered; with `after`, first those since that position."""
    who = info.context.require(Role.CUSTOMER, Role.STAFF, Role.ADMIN, what="orderEvents")
    if who.role is Role.CUSTOMER:
        if customer_email is not None and not who.may_see(customer_email.strip()):
            raise Forbidden("customers subscribe to their own orders only")
        customer_email = who.email  # a customer sees only their own orders' events
    feeds = _feeds(info)
    wants = _wants(order_id, customer_email, types)
    start: Position | None = None
    if after is not None:
        try:
            start = parse_position(after, feeds.store.keys.partitions)
        except InvalidPosition as exc:
            raise BadUserInput("after", str(exc)) from exc
    async with contextlib.aclosing(_delivered(feeds.events(wants, start))) as events:
        async for stored in events:
            yield _order_events.of(stored)


async def order_updated(info: Info, order_id: strawberry.ID) -> AsyncGenerator[Order, None]:
    """The order as it stands, then its new state after each change."""
    who = info.context.require(Role.CUSTOMER, Role.STAFF, Role.ADMIN, what="orderUpdated")
    feeds = _feeds(info)
    wants = _wants(order_id, None, None)
    assert wants.order_id is not None
    async with contextlib.aclosing(_delivered(feeds.order(wants.order_id))) as states:
        async for state in states:
            if not who.may_see(state.customer_email):  # as if it did not exist
                raise BadUserInput(
                    "orderId", f"order {wants.order_id!r} does not exist", code="ORDER_NOT_FOUND"
                )
            yield Order.from_state(state)


@strawberry.type
class Subscription:
    order_events: AsyncGenerator[OrderEvent, None] = strawberry.subscription(
        resolver=order_events,
        description="Order events as they are appended: type, orderId, version, occurredAt, "
        "position, data. Filters combine with AND. With `after` (a position from a mutation "
        "or an event), first the events since then, with no gap and no duplicate.",
    )
    order_updated: AsyncGenerator[Order, None] = strawberry.subscription(
        resolver=order_updated,
        description="The order as it stands, then its new state after each change; "
        "completes after the order is deleted.",
    )
