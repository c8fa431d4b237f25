"""JSON encoding of events and snapshots.

Events are stored as `{"type", "schemaVersion", "eventId", "orderId", "version",
"occurredAt", "metadata", "data"}`. Money is a decimal string, never a float.
Older schema versions are brought up to date by upcasters on the way in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from ..domain.events import (
    EVENT_TYPES,
    DomainEvent,
    OrderCancelled,
    OrderCreated,
    OrderDeleted,
    OrderItem,
    OrderStatusChanged,
)
from ..domain.model import Order
from ..domain.status import OrderStatus

Json = dict[str, Any]
Upcaster = Callable[[Json], Json]


def _order_created_v1_to_v2(data: Json) -> Json:
    """v1 items had `unitPrice` and no `subtotal` (the seed's shape)."""
    items = []
    for item in data["items"]:
        price = Decimal(item["unitPrice"])
        rest = {k: v for k, v in item.items() if k != "unitPrice"}
        items.append({**rest, "price": str(price), "subtotal": str(price * item["quantity"])})
    return {**data, "items": items}


#: (event type, from schema version) -> function giving the next version's `data`.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("OrderCreated", 1): _order_created_v1_to_v2,
}


def _item_to_json(item: OrderItem) -> Json:
    return {
        "productId": item.product_id,
        "productName": item.product_name,
        "quantity": item.quantity,
        "price": str(item.price),
        "subtotal": str(item.subtotal),
    }


def _item_from_json(data: Json) -> OrderItem:
    return OrderItem(
        product_id=data["productId"],
        product_name=data["productName"],
        quantity=int(data["quantity"]),
        price=Decimal(data["price"]),
    )


def _data(event: DomainEvent) -> Json:
    if isinstance(event, OrderCreated):
        return {
            "customerName": event.customer_name,
            "customerEmail": event.customer_email,
            "items": [_item_to_json(i) for i in event.items],
            "totalAmount": str(event.total_amount),
        }
    if isinstance(event, OrderStatusChanged):
        return {"fromStatus": event.from_status.value, "toStatus": event.to_status.value}
    if isinstance(event, OrderCancelled):
        return {"fromStatus": event.from_status.value, "reason": event.reason}
    if isinstance(event, OrderDeleted):
        return {"fromStatus": event.from_status.value, "reason": event.reason}
    raise TypeError(f"unknown event {type(event).__name__}")


def event_to_json(event: DomainEvent) -> Json:
    return {
        "type": event.type,
        "schemaVersion": event.SCHEMA_VERSION,
        "eventId": event.event_id,
        "orderId": event.order_id,
        "version": event.version,
        "occurredAt": event.occurred_at.isoformat(),
        "metadata": event.metadata,
        "data": _data(event),
    }


def encode_event(event: DomainEvent) -> bytes:
    return orjson.dumps(event_to_json(event))


def upcast(doc: Json) -> Json:
    """Bring a stored event document to its type's current schema version."""
    kind = doc["type"]
    current = EVENT_TYPES[kind].SCHEMA_VERSION
    version = int(doc.get("schemaVersion", 1))
    while version < current:
        doc = {**doc, "data": UPCASTERS[(kind, version)](doc["data"]), "schemaVersion": version + 1}
        version += 1
    return doc


def event_from_json(doc: Json) -> DomainEvent:
    doc = upcast(doc)
    data = doc["data"]
    common: Json = {
        "event_id": doc["eventId"],
        "order_id": doc["orderId"],
        "version": int(doc["version"]),
        "occurred_at": datetime.fromisoformat(doc["occurredAt"]),
        "metadata": doc.get("metadata") or {},
    }
    kind = doc["type"]
    if kind == "OrderCreated":
        return OrderCreated(
            **common,
            customer_name=data["customerName"],
            customer_email=data["customerEmail"],
            items=tuple(_item_from_json(i) for i in data["items"]),
            total_amount=Decimal(data["totalAmount"]),
        )
    if kind == "OrderStatusChanged":
        return OrderStatusChanged(
            **common,
            from_status=OrderStatus(data["fromStatus"]),
            to_status=OrderStatus(data["toStatus"]),
        )
    if kind == "OrderCancelled":
        return OrderCancelled(
            **common, from_status=OrderStatus(data["fromStatus"]), reason=data["reason"]
        )
    if kind == "OrderDeleted":
        return OrderDeleted(
            **common, from_status=OrderStatus(data["fromStatus"]), reason=data.get("reason")
        )
    raise ValueError(f"unknown event type {kind!r}")


def decode_event(raw: bytes | str) -> DomainEvent:
    return event_from_json(orjson.loads(raw))


def encode_snapshot(state: Order) -> bytes:
    return orjson.dumps(
        {
            "version": state.version,
            "orderId": state.order_id,
            "customerName": state.customer_name,
            "customerEmail": state.customer_email,
            "items": [_item_to_json(i) for i in state.items],
            "totalAmount": str(state.total_amount),
            "orderDate": state.order_date.isoformat() if state.order_date else None,
            "status": state.status.value,
            "cancellationReason": state.cancellation_reason,
            "deleted": state.deleted,
            "updatedAt": state.updated_at.isoformat() if state.updated_at else None,
        }
    )


def decode_snapshot(raw: bytes | str) -> Order:
    doc = orjson.loads(raw)
    return Order(
        order_id=doc["orderId"],
        version=int(doc["version"]),
        customer_name=doc["customerName"],
        customer_email=doc["customerEmail"],
        items=tuple(_item_from_json(i) for i in doc["items"]),
        total_amount=Decimal(doc["totalAmount"]),
        order_date=datetime.fromisoformat(doc["orderDate"]) if doc["orderDate"] else None,
        status=OrderStatus(doc["status"]),
        cancellation_reason=doc["cancellationReason"],
        deleted=bool(doc["deleted"]),
        updated_at=datetime.fromisoformat(doc["updatedAt"]) if doc["updatedAt"] else None,
    )
