"""Mutations: each one is a command on the Order aggregate."""

from __future__ import annotations

import logging
from typing import Annotated

import strawberry

from ..domain import commands
from ..domain.commands import Command
from ..domain.errors import DomainError
from ..eventstore.redis_store import EventStoreUnavailable, NotReplicated
from ..metrics import COMMANDS, EVENTS_APPENDED, labelled
from ..service import check_idempotency_key, new_order_id
from . import errors as e
from .auth import Forbidden, Role
from .context import Info
from .types import CreateOrderInput, Order, OrderPayload, OrderStatus

CreateOrderResult = Annotated[
    OrderPayload | e.ValidationError, strawberry.union("CreateOrderResult")
]
_Refusals = e.ValidationError | e.OrderNotFound | e.OrderDeleted | e.InvalidStatusTransition
UpdateOrderStatusResult = Annotated[
    OrderPayload | _Refusals | e.ConcurrencyConflict, strawberry.union("UpdateOrderStatusResult")
]
CancelOrderResult = Annotated[
    OrderPayload | _Refusals | e.ConcurrencyConflict, strawberry.union("CancelOrderResult")
]
DeleteOrderResult = Annotated[
    OrderPayload | _Refusals | e.ConcurrencyConflict, strawberry.union("DeleteOrderResult")
]

log = logging.getLogger("orders_gql.commands")

_COMMAND_NAMES: dict[type, str] = {
    commands.CreateOrder: "createOrder",
    commands.UpdateOrderStatus: "updateOrderStatus",
    commands.CancelOrder: "cancelOrder",
    commands.DeleteOrder: "deleteOrder",
}

_KEY = strawberry.argument(
    description="Retrying with the same key returns the first result and appends nothing."
)
_VERSION = strawberry.argument(
    description="Refuse with ConcurrencyConflict unless the order is at this version."
)


async def _run(
    info: Info,
    command: Command,
    expected_version: int | None,
    idempotency_key: str | None,
) -> OrderPayload | e.Error:
    ctx = info.context
    name = _COMMAND_NAMES[type(command)]
    try:
        result = await ctx.service.execute(
            command,
            metadata=ctx.metadata(idempotency_key),
            expected_version=expected_version,
            idempotency_key=idempotency_key,
        )
    except DomainError as err:
        labelled(COMMANDS, name, err.code).inc()
        log.debug("%s refused on order %s: %s", name, command.order_id, err.code)
        return e.to_graphql(err)
    except NotReplicated as exc:
        labelled(COMMANDS, name, "NOT_REPLICATED").inc()
        raise e.NotReplicatedError(str(exc)) from exc
    except EventStoreUnavailable as exc:
        labelled(COMMANDS, name, "SERVICE_UNAVAILABLE").inc()
        raise e.ServiceUnavailable("the event store", nothing_written=True) from exc
    labelled(COMMANDS, name, "replayed" if result.replayed else "ok").inc()
    log.debug("%s on order %s -> version %d", name, command.order_id, result.order.version)
    for event in result.events:
        labelled(EVENTS_APPENDED, event.type).inc()
    return OrderPayload(
        order=Order.from_state(result.order), position=result.position, replayed=result.replayed
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Place a new order (status PENDING).")
    async def create_order(
        self,
        info: Info,
        input: CreateOrderInput,
        idempotency_key: Annotated[str | None, _KEY] = None,
    ) -> CreateOrderResult:
        who = info.context.require(Role.CUSTOMER, Role.STAFF, Role.ADMIN, what="createOrder")
        if not who.may_see(input.customer_email.strip()):
            raise Forbidden("customers create orders for their own email only")
        try:
            check_idempotency_key(idempotency_key)
        except DomainError as err:
            return e.to_graphql(err)  # type: ignore[return-value]
        command = commands.CreateOrder(
            order_id=new_order_id(idempotency_key),
            customer_name=input.customer_name,
            customer_email=input.customer_email,
            items=tuple(
                commands.ItemInput(
                    product_id=i.product_id,
                    product_name=i.product_name,
                    quantity=i.quantity,
                    price=i.price,
                )
                for i in input.items
            ),
        )
        return await _run(info, command, None, idempotency_key)  # type: ignore[return-value]

    @strawberry.mutation(description="Move an order to the next status of its flow.")
    async def update_order_status(
        self,
        info: Info,
        order_id: strawberry.ID,
        status: OrderStatus,  # type: ignore[valid-type]
        expected_version: Annotated[int | None, _VERSION] = None,
        idempotency_key: Annotated[str | None, _KEY] = None,
    ) -> UpdateOrderStatusResult:
        info.context.require(Role.STAFF, Role.ADMIN, what="updateOrderStatus")
        command = commands.UpdateOrderStatus(order_id=str(order_id), status=status)
        return await _run(info, command, expected_version, idempotency_key)  # type: ignore[return-value]

    @strawberry.mutation(description="Cancel an order that is not yet shipped, with a reason.")
    async def cancel_order(
        self,
        info: Info,
        order_id: strawberry.ID,
        reason: Annotated[
            str,
            strawberry.argument(
                description="Why, 1 to 500 characters: kept in the event and as the order's "
                "cancellationReason."
            ),
        ],
        expected_version: Annotated[int | None, _VERSION] = None,
        idempotency_key: Annotated[str | None, _KEY] = None,
    ) -> CancelOrderResult:
        info.context.require(Role.STAFF, Role.ADMIN, what="cancelOrder")
        command = commands.CancelOrder(order_id=str(order_id), reason=reason)
        return await _run(info, command, expected_version, idempotency_key)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Delete a pending or cancelled order (a tombstone; its history stays)."
    )
    async def delete_order(
        self,
        info: Info,
        order_id: strawberry.ID,
        reason: Annotated[
            str | None,
            strawberry.argument(description="Why, 1 to 500 characters, kept in the event."),
        ] = None,
        expected_version: Annotated[int | None, _VERSION] = None,
        idempotency_key: Annotated[str | None, _KEY] = None,
    ) -> DeleteOrderResult:
        info.context.require(Role.ADMIN, what="deleteOrder")
        command = commands.DeleteOrder(order_id=str(order_id), reason=reason)
        return await _run(info, command, expected_version, idempotency_key)  # type: ignore[return-value]
