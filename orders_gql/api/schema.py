"""The GraphQL schema: queries, mutations and subscriptions."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncGenerator, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from . import queries as q
from .admin import AdminMutation, DeadLetter, dead_letters
from .connection import OrderConnection
from .fanout import SharedEventExecutor
from .history import OrderEvent, order_history
from .input_builders import install_input_builders
from .limits import Limits, schema_extensions
from .money import StrictDecimal
from .mutations import Mutation as OrderMutation
from .readtypes import CustomerStats, OrderSummary
from .resolvers import install_direct_resolvers
from .scalars import LocatedDateTime
from .subscriptions import Subscription
from .types import Order
from .view import format_error, is_unexpected

log = logging.getLogger("orders_gql.api")


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


class OrdersSchema(strawberry.Schema):
    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """One result: strawberry would run a subscription sent as a plain HTTP
        request like a query (its root field then fails as null). Refused
        instead: subscriptions stream over the websocket."""
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES)
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed - {OperationType.SUBSCRIPTION},
            operation_extensions,
        )

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        """The websocket's results (both protocols come here), their errors as
        the HTTP view types them: a code, the field when known, the correlation
        id, no internals. strawberry sends graphql-core's own formatting."""
        results = await super().stream(*args, **kwargs)
        context = kwargs.get("context_value", args[2] if len(args) > 2 else None)
        return _typed_errors(results, getattr(context, "correlation_id", ""))

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


async def _typed_errors(results: Any, correlation_id: str) -> AsyncGenerator[Any, None]:
    async with contextlib.aclosing(results):
        async for result in results:
            if getattr(result, "errors", None):
                # a copy: subscribers with the same selection share one result
                errors = [_typed(error, correlation_id) for error in result.errors]
                result = dataclasses.replace(result, errors=errors)
            yield result


def _typed(error: GraphQLError, correlation_id: str) -> GraphQLError:
    # strawberry closes the connection on these (4400), naming them: kept
    if isinstance(error, GraphQLSyntaxError) or isinstance(
        error.original_error, CannotGetOperationTypeError
    ):
        return error
    formatted = format_error(error, correlation_id)
    return GraphQLError(
        formatted["message"],
        error.nodes,
        error.source,
        error.positions,
        error.path,
        error.original_error,
        formatted["extensions"],
    )


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    """The schema, with the request limits enforced (defaults when not given);
    subscribers with the same selection share each event's execution (see fanout);
    input objects are built by precomputed builders (see input_builders), and
    plain resolvers are called directly (see resolvers)."""
    built = OrdersSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=schema_extensions(limits or Limits()),
        config=StrawberryConfig(auto_camel_case=True),
        scalar_overrides={Decimal: StrictDecimal, datetime: LocatedDateTime},
        execution_context_class=SharedEventExecutor,
    )
    install_input_builders(built)
    install_direct_resolvers(built)
    return built


schema = build_schema()
