"""The GraphQL schema: queries, mutations (and, later, subscriptions)."""

from __future__ import annotations

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from . import queries as q
from .admin import AdminMutation, DeadLetter, dead_letters
from .connection import OrderConnection
from .history import OrderEvent, order_history
from .mutations import Mutation as OrderMutation
from .readtypes import CustomerStats, OrderSummary
from .types import Order


@strawberry.type
class Query:
    orders: OrderConnection = strawberry.field(
        resolver=q.orders, description="Orders matching the filter, newest first."
    )
    order: Order | None = strawberry.field(
        resolver=q.order,
        description="One order from the read model, or null when unknown or deleted. "
        "asOfVersion: as it stood at that version, folded from its events.",
    )
    orders_by_status: OrderConnection = strawberry.field(
        resolver=q.orders_by_status, description="Orders in one status, newest first."
    )
    customer_orders: OrderConnection = strawberry.field(
        resolver=q.customer_orders, description="One customer's orders, newest first."
    )
    search_orders: OrderConnection = strawberry.field(
        resolver=q.search_orders,
        description="Case-insensitive literal match on customer name, email and product "
        "names (1 to 100 characters).",
    )
    order_summary: OrderSummary = strawberry.field(
        resolver=q.order_summary, description="Totals, maintained as events arrive."
    )
    top_customers: list[CustomerStats] = strawberry.field(
        resolver=q.top_customers, description="Customers by revenue, highest first."
    )
    order_history: list[OrderEvent] = strawberry.field(
        resolver=order_history, description="The audit trail of an order, from the event store."
    )
    dead_letters: list[DeadLetter] = strawberry.field(
        resolver=dead_letters, description="Operators: events the projector parked."
    )


Mutation = merge_types("Mutation", (OrderMutation, AdminMutation))


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=[lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)],
        config=StrawberryConfig(auto_camel_case=True),
    )


schema = build_schema()
