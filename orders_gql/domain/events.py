"""Domain events: facts the Order aggregate has decided. Immutable, versioned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from .status import OrderStatus


def to_millis(moment: datetime) -> datetime:
    """A time to the millisecond, as MongoDB stores dates. Events carry such
    times, so that an order shows the same orderDate in a mutation's answer, a
    subscription and the lists, and a date filter on the one finds the other."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class OrderItem:
    product_id: str
    product_name: str
    quantity: int
    price: Decimal

    @property
    def subtotal(self) -> Decimal:
        return self.price * self.quantity


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Fields every event carries. `version` is the order's version after this event."""

    SCHEMA_VERSION: ClassVar[int] = 1

    event_id: str
    order_id: str
    version: int
    occurred_at: datetime
    metadata: dict[str, str | None]

    @property
    def type(self) -> str:
        return type(self).__name__


@dataclass(frozen=True, kw_only=True)
class OrderCreated(DomainEvent):
    """v2 stores each item's `price` and `subtotal`; v1 stored `unitPrice` only."""

    SCHEMA_VERSION: ClassVar[int] = 2

    customer_name: str
    customer_email: str
    items: tuple[OrderItem, ...]
    total_amount: Decimal


@dataclass(frozen=True, kw_only=True)
class OrderStatusChanged(DomainEvent):
    from_status: OrderStatus
    to_status: OrderStatus


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(DomainEvent):
    from_status: OrderStatus
    reason: str


@dataclass(frozen=True, kw_only=True)
class OrderDeleted(DomainEvent):
    from_status: OrderStatus
    reason: str | None = None


Event = OrderCreated | OrderStatusChanged | OrderCancelled | OrderDeleted
EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.__name__: cls for cls in (OrderCreated, OrderStatusChanged, OrderCancelled, OrderDeleted)
}
