"""Queries answered from the read models. Every one takes `consistentWith`:
the position a mutation returned; the query then waits (bounded) until the
projector passed it, so a client reads its own writes without polling."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from graphql import GraphQLError

from ..domain.errors import ValidationError
from ..domain.status import OrderStatus as DomainStatus
from ..domain.validation import normalise_email
from ..eventstore.connect import REDIS_ERRORS
from ..readside import queries as rq
from ..readside.documents import OrderSummaryFields as EmptySummary
from ..readside.facade import BadPosition
from ..readside.generations import ReadModels
from ..readside.progress import EventParked, NotYetProjected
from ..readside.store import ReadSideUnavailable
from .auth import Forbidden, Role
from .connection import OrderConnection
from .context import Info
from .errors import BadUserInput, ServiceUnavailable, order_id_argument, read_models_answer
from .history import order_from_events
from .readtypes import CustomerStats, OrderSummary, order_from_document
from .types import Order, OrderStatus

FIRST_DEFAULT, FIRST_MAX = 20, 100

ConsistentWith = Annotated[
    str | None,
    strawberry.argument(
        description="A mutation's `position`: answer only once the read models include it."
    ),
]
First = Annotated[int, strawberry.argument(description=f"Page size, 1 to {FIRST_MAX}.")]
After = Annotated[str | None, strawberry.argument(description="endCursor of the previous page.")]


@strawberry.input(description="Every field is optional; all given ones must match.")
class OrderFilter:
    status: OrderStatus | None = None  # type: ignore[valid-type]
    customer_email: str | None = strawberry.field(
        default=None, description="The customer's email, in any case."
    )
    from_date: datetime | None = strawberry.field(default=None, description="Order date >= this.")
    to_date: datetime | None = strawberry.field(default=None, description="Order date <= this.")
    min_amount: Decimal | None = strawberry.field(default=None, description="Total amount >= this.")
    max_amount: Decimal | None = strawberry.field(default=None, description="Total amount <= this.")


class ConsistencyTimeout(GraphQLError):
    def __init__(self, message: str) -> None:
        super().__init__(
            message, extensions={"code": "CONSISTENCY_TIMEOUT", "field": "consistentWith"}
        )


async def read_models(info: Info, consistent_with: str | None) -> ReadModels | None:
    """The active read models, translating read-side failures into GraphQL errors."""
    read_side = info.context.read_side
    if read_side is None:
        raise ServiceUnavailable("the read models")
    try:
        return await read_side.models(consistent_with)
    except BadPosition as exc:
        raise BadUserInput("consistentWith", str(exc)) from exc
    except NotYetProjected as exc:
        raise ConsistencyTimeout(str(exc)) from exc
    except EventParked as exc:
        raise BadUserInput("consistentWith", str(exc), code="EVENT_PARKED") from exc
    except ReadSideUnavailable as exc:
        raise ServiceUnavailable("the read models") from exc
    except REDIS_ERRORS as exc:
        raise ServiceUnavailable("the event store") from exc


def _email(field: str, value: str) -> str:
    try:
        return normalise_email(field, value)
    except ValidationError as err:
        raise BadUserInput(field, err.reason) from err


def _spec(f: OrderFilter | None) -> rq.OrderFilterSpec:
    if f is None:
        return rq.OrderFilterSpec()
    for name, amount in (("minAmount", f.min_amount), ("maxAmount", f.max_amount)):
        if amount is not None and (not amount.is_finite() or amount < 0):
            raise BadUserInput(f"filter.{name}", "must be a non-negative amount")
    if f.min_amount is not None and f.max_amount is not None and f.min_amount > f.max_amount:
        raise BadUserInput("filter.maxAmount", "must not be less than minAmount")
    for name, date in (("fromDate", f.from_date), ("toDate", f.to_date)):
        if date is not None and date.tzinfo is None:
            raise BadUserInput(f"filter.{name}", "needs a time zone, e.g. 2026-01-31T00:00:00Z")
    if f.from_date and f.to_date and f.from_date > f.to_date:
        raise BadUserInput("filter.toDate", "must not be before fromDate")
    return rq.OrderFilterSpec(
        status=DomainStatus(f.status).value if f.status is not None else None,
        customer_email=_email("filter.customerEmail", f.customer_email)
        if f.customer_email is not None
        else None,
        from_date=f.from_date,
        to_date=f.to_date,
        min_amount=f.min_amount,
        max_amount=f.max_amount,
    )


async def _page(
    info: Info,
    spec: rq.OrderFilterSpec,
    first: int,
    after: str | None,
    consistent_with: str | None,
    narrow: str | None,
) -> OrderConnection:
    who = info.context.require(Role.CUSTOMER, Role.STAFF, Role.ADMIN, what="listing orders")
    if who.role is Role.CUSTOMER:
        if spec.customer_email is not None and not who.may_see(spec.customer_email):
            raise Forbidden("customers list their own orders only")
        spec = replace(spec, customer_email=who.email)  # only their own, whatever they ask
    if not 1 <= first <= FIRST_MAX:
        raise BadUserInput("first", f"must be between 1 and {FIRST_MAX}")
    if after is not None:
        try:
            rq.decode_cursor(after)
        except rq.BadCursor as exc:
            raise BadUserInput("after", str(exc)) from exc
    models = await read_models(info, consistent_with)
    if models is None:
        return OrderConnection.empty()
    read_side = info.context.read_side
    assert read_side is not None  # read_models answered SERVICE_UNAVAILABLE otherwise
    page = rq.list_orders(models, spec, first, after, read_side.query_time_limit_ms)
    return OrderConnection(page=page, narrow=narrow)


async def orders(
    info: Info,
    filter: OrderFilter | None = None,
    first: First = FIRST_DEFAULT,
    after: After = None,
    consistent_with: ConsistentWith = None,
) -> OrderConnection:
    """Orders matching the filter, newest first."""
    narrow = "filter" if filter is not None else None
    return await _page(info, _spec(filter), first, after, consistent_with, narrow)


async def orders_by_status(
    info: Info,
    status: OrderStatus,  # type: ignore[valid-type]
    first: First = FIRST_DEFAULT,
    after: After = None,
    consistent_with: ConsistentWith = None,
) -> OrderConnection:
    spec = rq.OrderFilterSpec(status=DomainStatus(status).value)
    return await _page(info, spec, first, after, consistent_with, "status")


async def customer_orders(
    info: Info,
    customer_email: str,
    first: First = FIRST_DEFAULT,
    after: After = None,
    consistent_with: ConsistentWith = None,
) -> OrderConnection:
    spec = rq.OrderFilterSpec(customer_email=_email("customerEmail", customer_email))
    return await _page(info, spec, first, after, consistent_with, "customerEmail")


async def search_orders(
    info: Info,
    q: Annotated[str, strawberry.argument(description="1 to 100 characters, matched literally.")],
    first: First = FIRST_DEFAULT,
    after: After = None,
    consistent_with: ConsistentWith = None,
) -> OrderConnection:
    text = q.strip()
    if not text:
        raise BadUserInput("q", "must not be empty")
    if len(text) > rq.SEARCH_MAX:
        raise BadUserInput("q", f"must be at most {rq.SEARCH_MAX} characters")
    return await _page(info, rq.OrderFilterSpec(search=text), first, after, consistent_with, "q")


async def order(
    info: Info,
    order_id: strawberry.ID,
    as_of_version: Annotated[
        int | None, strawberry.argument(description="The order as it stood at this version.")
    ] = None,
    consistent_with: ConsistentWith = None,
) -> Order | None:
    """One order from the read model, or null (unknown or deleted). With
    asOfVersion it is folded from the events instead."""
    who = info.context.require(Role.CUSTOMER, Role.STAFF, Role.ADMIN, what="order")
    if as_of_version is not None:
        return await order_from_events(info, order_id, as_of_version)
    order_id_argument(order_id)
    models = await read_models(info, consistent_with)
    if models is None:
        return None
    with read_models_answer():
        view = await rq.get_order(models, str(order_id))
    if view is None or not who.may_see(view["customer_email"]):
        return None  # another customer's order reads as if it did not exist
    return order_from_document(view)


async def order_summary(info: Info, consistent_with: ConsistentWith = None) -> OrderSummary:
    info.context.require(Role.STAFF, Role.ADMIN, what="orderSummary")
    models = await read_models(info, consistent_with)
    with read_models_answer():
        doc = await rq.get_summary(models) if models is not None else None
    return OrderSummary.from_doc(doc or EmptySummary())


async def top_customers(
    info: Info,
    limit: Annotated[int, strawberry.argument(description="How many, 1 to 100.")] = 10,
    consistent_with: ConsistentWith = None,
) -> list[CustomerStats]:
    """Customers by revenue, highest first."""
    info.context.require(Role.STAFF, Role.ADMIN, what="topCustomers")
    if not 1 <= limit <= FIRST_MAX:
        raise BadUserInput("limit", f"must be between 1 and {FIRST_MAX}")
    models = await read_models(info, consistent_with)
    if models is None:
        return []
    with read_models_answer():
        return [CustomerStats.from_doc(c) for c in await rq.top_customers(models, limit)]
