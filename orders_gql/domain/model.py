"""The Order aggregate as a decider: `decide` turns a command into events,
`evolve` folds an event into state. Both are pure functions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from .commands import CancelOrder, Command, CreateOrder, DeleteOrder, Metadata, UpdateOrderStatus
from .errors import (
    InvalidStatusTransition,
    OrderAlreadyExists,
    OrderDeleted,
    OrderNotFound,
    ValidationError,
)
from .events import (
    DomainEvent,
    OrderCancelled,
    OrderCreated,
    OrderItem,
    OrderStatusChanged,
)
from .events import OrderDeleted as OrderDeletedEvent
from .ids import name_uuid
from .status import DELETABLE, OrderStatus, can_transition
from .validation import validate_cancel, validate_create, validate_delete

_EVENT_NAMESPACE = uuid.UUID("6f1c7a52-3b7e-4c1e-9a53-0d7f2f0f9a11")


@dataclass(frozen=True)
class Order:
    """The state of one order, folded from its events. Version 0 means it does not exist."""

    order_id: str
    version: int = 0
    customer_name: str = ""
    customer_email: str = ""
    items: tuple[OrderItem, ...] = ()
    total_amount: Decimal = Decimal("0.00")
    order_date: datetime | None = None
    status: OrderStatus = OrderStatus.PENDING
    cancellation_reason: str | None = None
    deleted: bool = False
    updated_at: datetime | None = None

    @property
    def exists(self) -> bool:
        return self.version > 0


def event_id_for(command_id: str, version: int) -> str:
    """Deterministic: the same command deciding the same version yields the same id."""
    return name_uuid(_EVENT_NAMESPACE, f"{command_id}:{version}")


def evolve(state: Order, event: DomainEvent) -> Order:
    """Apply one event to the state. Events are facts: no checks here."""
    if isinstance(event, OrderCreated):
        return Order(
            order_id=event.order_id,
            version=event.version,
            customer_name=event.customer_name,
            customer_email=event.customer_email,
            items=event.items,
            total_amount=event.total_amount,
            order_date=event.occurred_at,
            status=OrderStatus.PENDING,
            updated_at=event.occurred_at,
        )
    common = {"version": event.version, "updated_at": event.occurred_at}
    if isinstance(event, OrderStatusChanged):
        return replace(state, status=event.to_status, **common)  # type: ignore[arg-type]
    if isinstance(event, OrderCancelled):
        return replace(
            state,
            status=OrderStatus.CANCELLED,
            cancellation_reason=event.reason,
            **common,  # type: ignore[arg-type]
        )
    if isinstance(event, OrderDeletedEvent):
        return replace(state, deleted=True, **common)  # type: ignore[arg-type]
    raise TypeError(f"unknown event {type(event).__name__}")


def fold(state: Order, events: list[DomainEvent]) -> Order:
    for event in events:
        state = evolve(state, event)
    return state


def _require_live(state: Order) -> None:
    if not state.exists:
        raise OrderNotFound(state.order_id)
    if state.deleted:
        raise OrderDeleted(state.order_id)


def decide(
    state: Order, command: Command, *, now: datetime, metadata: Metadata
) -> list[DomainEvent]:
    """Decide which events a command causes on this state, or raise a DomainError."""
    version = state.version + 1
    envelope = {
        "event_id": event_id_for(metadata.command_id, version),
        "order_id": state.order_id,
        "version": version,
        "occurred_at": now,
        "metadata": metadata.as_dict(),
    }
    if isinstance(command, CreateOrder):
        if state.exists:
            raise OrderAlreadyExists(state.order_id)
        cmd = validate_create(command)
        items = tuple(
            OrderItem(
                product_id=i.product_id,
                product_name=i.product_name,
                quantity=i.quantity,
                price=i.price,
            )
            for i in cmd.items
        )
        total = sum((i.subtotal for i in items), Decimal("0.00"))
        return [
            OrderCreated(
                **envelope,  # type: ignore[arg-type]
                customer_name=cmd.customer_name,
                customer_email=cmd.customer_email,
                items=items,
                total_amount=total,
            )
        ]
    _require_live(state)
    if isinstance(command, UpdateOrderStatus):
        target = command.status
        if target is OrderStatus.CANCELLED:
            raise ValidationError("status", "use cancelOrder, which records a reason")
        if not can_transition(state.status, target):
            raise InvalidStatusTransition(state.status.value, target.value)
        return [
            OrderStatusChanged(
                **envelope,  # type: ignore[arg-type]
                from_status=state.status,
                to_status=target,
            )
        ]
    if isinstance(command, CancelOrder):
        cmd_c = validate_cancel(command)
        if not can_transition(state.status, OrderStatus.CANCELLED):
            raise InvalidStatusTransition(state.status.value, OrderStatus.CANCELLED.value)
        return [
            OrderCancelled(
                **envelope,  # type: ignore[arg-type]
                from_status=state.status,
                reason=cmd_c.reason,
            )
        ]
    if isinstance(command, DeleteOrder):
        cmd_d = validate_delete(command)
        if state.status not in DELETABLE:
            raise InvalidStatusTransition(
                state.status.value,
                "deleted",
                "only pending or cancelled orders can be deleted; "
                f"this one is {state.status.value}",
            )
        return [
            OrderDeletedEvent(
                **envelope,  # type: ignore[arg-type]
                from_status=state.status,
                reason=cmd_d.reason,
            )
        ]
    raise TypeError(f"unknown command {type(command).__name__}")
