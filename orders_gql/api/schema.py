"""The GraphQL schema: queries, mutations and subscriptions."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from .history import OrderEvent, order_from_events, order_history
from .limits import Limits, schema_extensions
from .mutations import Mutation
from .parsing import ParserCache
from .subscriptions import Subscription
from .types import Order
from .view import is_unexpected

log = logging.getLogger("orders_gql.api")


@strawberry.type
class Query:
    order: Order | None = strawberry.field(
        resolver=order_from_events,
        description="One order by id, or null. asOfVersion: as it stood at that version.",
    )
    order_history: list[OrderEvent] = strawberry.field(
        resolver=order_history, description="The audit trail of an order, from the event store."
    )


class OrdersSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log only what the client did not cause, with the request's correlation id;
        refusals and bad input are answered, not logged as failures."""
        context = execution_context.context if execution_context else None
        cid = getattr(context, "correlation_id", "-")
        for error in errors:
            if is_unexpected(error):
                log.error(
                    "internal error (correlation id %s) at %s",
                    cid,
                    error.path,
                    exc_info=error.original_error,
                )


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    """The schema, with the request limits enforced (defaults when not given)."""
    return OrdersSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            lambda: ParserCache(maxsize=256),
            *schema_extensions(limits or Limits()),
            lambda: ValidationCache(maxsize=256),
        ],
        config=StrawberryConfig(auto_camel_case=True),
    )


schema = build_schema()
