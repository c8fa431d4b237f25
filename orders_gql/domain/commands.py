"""Commands: what a caller asks the Order aggregate to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .status import OrderStatus


@dataclass(frozen=True)
class Metadata:
    """Who asked for a change and in which conversation; copied onto every event."""

    command_id: str
    correlation_id: str
    issued_by: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "commandId": self.command_id,
            "correlationId": self.correlation_id,
            "issuedBy": self.issued_by,
        }


@dataclass(frozen=True)
class ItemInput:
    product_id: str
    product_name: str
    quantity: int
    price: Decimal


@dataclass(frozen=True)
class CreateOrder:
    order_id: str
    customer_name: str
    customer_email: str
    items: tuple[ItemInput, ...]


@dataclass(frozen=True)
class UpdateOrderStatus:
    order_id: str
    status: OrderStatus


@dataclass(frozen=True)
class CancelOrder:
    order_id: str
    reason: str


@dataclass(frozen=True)
class DeleteOrder:
    order_id: str
    reason: str | None = field(default=None)


Command = CreateOrder | UpdateOrderStatus | CancelOrder | DeleteOrder
