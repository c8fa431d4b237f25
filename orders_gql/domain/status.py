"""The order status table, exactly as the seed states it."""

from __future__ import annotations

from enum import Enum


class OrderStatus(str, Enum):  # noqa: UP042 - str() keeps the Enum form
    PENDING = "pending"
    CONFIRMED = "confirmed"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.PROCESSING, OrderStatus.CANCELLED}),
    OrderStatus.PROCESSING: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}

#: Statuses from which an order may be deleted (a tombstone).
DELETABLE: frozenset[OrderStatus] = frozenset({OrderStatus.PENDING, OrderStatus.CANCELLED})


def can_transition(from_status: OrderStatus, to_status: OrderStatus) -> bool:
    return to_status in TRANSITIONS[from_status]
