"""GraphQL object and input types for orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from ..domain import model
from ..domain.status import OrderStatus as DomainOrderStatus

OrderStatus = strawberry.enum(
    DomainOrderStatus,
    name="OrderStatus",
    description="Where an order is in its flow: PENDING -> CONFIRMED -> PROCESSING -> "
    "SHIPPED -> DELIVERED; CANCELLED from any of the first three.",
)


@strawberry.type(description="One line of an order.")
class OrderItem:
    product_id: str = strawberry.field(description="The shop's product id.")
    product_name: str
    quantity: int = strawberry.field(description="How many, 1 to 10,000.")
    price: Decimal = strawberry.field(description="Unit price.")
    subtotal: Decimal = strawberry.field(description="price x quantity, computed by the server.")


@strawberry.type(description="One status an order went through, and when.")
class StatusChange:
    status: OrderStatus  # type: ignore[valid-type]
    at: datetime = strawberry.field(description="When the change was decided (UTC).")
    version: int = strawberry.field(description="The order's version after this change.")


@strawberry.type(description="An order of the shop.")
class Order:
    order_id: strawberry.ID
    customer_name: str
    customer_email: str = strawberry.field(
        description="In lower case: one customer, however it was typed."
    )
    items: list[OrderItem]
    total_amount: Decimal = strawberry.field(description="Sum of the items' subtotals.")
    order_date: datetime = strawberry.field(description="When the order was placed (UTC).")
    status: OrderStatus  # type: ignore[valid-type]
    version: int = strawberry.field(
        description="Number of events applied; pass it as expectedVersion."
    )
    cancellation_reason: str | None = strawberry.field(
        description="Why it was cancelled; null unless CANCELLED."
    )
    deleted: bool = strawberry.field(
        description="True only where a deleted order still shows: deleteOrder's payload "
        "and asOfVersion; lists and order(orderId) leave deleted orders out."
    )
    updated_at: datetime = strawberry.field(description="When its last event was decided (UTC).")
    status_history: list[StatusChange] | None = strawberry.field(
        default=None,
        description="Statuses with their times, from the read model; null when the order "
        "is folded from its events (mutation payloads, asOfVersion).",
    )

    @classmethod
    def from_state(cls, state: model.Order) -> Order:
        assert state.order_date is not None and state.updated_at is not None
        return cls(
            order_id=strawberry.ID(state.order_id),
            customer_name=state.customer_name,
            customer_email=state.customer_email,
            items=[
                OrderItem(
                    product_id=i.product_id,
                    product_name=i.product_name,
                    quantity=i.quantity,
                    price=i.price,
                    subtotal=i.subtotal,
                )
                for i in state.items
            ],
            total_amount=state.total_amount,
            order_date=state.order_date,
            status=state.status,
            version=state.version,
            cancellation_reason=state.cancellation_reason,
            deleted=state.deleted,
            updated_at=state.updated_at,
        )


@strawberry.type(description="A command's success: the order as the write side now holds it.")
class OrderPayload:
    order: Order
    position: str = strawberry.field(
        description="Opaque position of the last event appended; queries can wait for it "
        "(read your writes) and subscriptions can resume after it."
    )
    replayed: bool = strawberry.field(
        description="True when this is the stored result of an earlier request with the "
        "same idempotencyKey; nothing new was appended."
    )


@strawberry.input(description="One line of a new order.")
class OrderItemInput:
    product_id: str = strawberry.field(description="1 to 64 characters.")
    product_name: str = strawberry.field(description="1 to 200 characters.")
    quantity: int = strawberry.field(description="1 to 10,000.")
    price: Decimal = strawberry.field(description='Unit price, at most 2 decimals, e.g. "19.99".')


@strawberry.input(description="A new order. The total is computed by the server.")
class CreateOrderInput:
    customer_name: str = strawberry.field(description="2 to 100 characters, trimmed.")
    customer_email: str = strawberry.field(
        description="A valid email address; stored in lower case."
    )
    items: list[OrderItemInput] = strawberry.field(description="1 to 100 lines.")
