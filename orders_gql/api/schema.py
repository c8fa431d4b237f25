"""The GraphQL schema: queries, mutations and subscriptions."""

from __future__ import annotations

import strawberry
from strawberry.extensions import ValidationCache
from strawberry.schema.config import StrawberryConfig

from .history import OrderEvent, order_from_events, order_history
from .mutations import Mutation
from .parsing import ParserCache
from .subscriptions import Subscription
from .types import Order


@strawberry.type
class Query:
    order: Order | None = strawberry.field(
        resolver=order_from_events,
        description="One order by id, or null. asOfVersion: as it stood at that version.",
    )
    order_history: list[OrderEvent] = strawberry.field(
        resolver=order_history, description="The audit trail of an order, from the event store."
    )


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)],
        config=StrawberryConfig(auto_camel_case=True),
    )


schema = build_schema()
