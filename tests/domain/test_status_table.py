"""Every allowed and every refused transition of the seed's status table."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders_gql.domain.commands import (
    CancelOrder,
    CreateOrder,
    DeleteOrder,
    ItemInput,
    Metadata,
    UpdateOrderStatus,
)
from orders_gql.domain.errors import (
    InvalidStatusTransition,
    OrderAlreadyExists,
    OrderDeleted,
    OrderNotFound,
    ValidationError,
)
from orders_gql.domain.events import OrderCancelled, OrderStatusChanged
from orders_gql.domain.events import OrderDeleted as Deleted
from orders_gql.domain.model import Order, decide, fold
from orders_gql.domain.status import OrderStatus as S

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
META = Metadata(command_id="c1", correlation_id="r1", issued_by="tester")

ALLOWED = {
    (S.PENDING, S.CONFIRMED),
    (S.PENDING, S.CANCELLED),
    (S.CONFIRMED, S.PROCESSING),
    (S.CONFIRMED, S.CANCELLED),
    (S.PROCESSING, S.SHIPPED),
    (S.PROCESSING, S.CANCELLED),
    (S.SHIPPED, S.DELIVERED),
}
PATH_TO = {
    S.PENDING: [],
    S.CONFIRMED: [S.CONFIRMED],
    S.PROCESSING: [S.CONFIRMED, S.PROCESSING],
    S.SHIPPED: [S.CONFIRMED, S.PROCESSING, S.SHIPPED],
    S.DELIVERED: [S.CONFIRMED, S.PROCESSING, S.SHIPPED, S.DELIVERED],
}


def order_in(status: S) -> Order:
    """Given an order that reached `status` through the flow."""
    state = Order("o1")
    state = fold(state, decide(state, create(), now=NOW, metadata=META))
    if status is S.CANCELLED:
        return fold(state, decide(state, CancelOrder("o1", "gone"), now=NOW, metadata=META))
    for step in PATH_TO[status]:
        state = fold(state, decide(state, UpdateOrderStatus("o1", step), now=NOW, metadata=META))
    return state


def create() -> CreateOrder:
    item = ItemInput("p1", "Pen", 2, Decimal("1.25"))
    return CreateOrder("o1", "Ada Lovelace", "ada@example.com", (item,))


def move(state: Order, to: S) -> list:
    if to is S.CANCELLED:
        return decide(state, CancelOrder("o1", "customer asked"), now=NOW, metadata=META)
    return decide(state, UpdateOrderStatus("o1", to), now=NOW, metadata=META)


@pytest.mark.parametrize("src,dst", sorted(ALLOWED))
def test_allowed_transition_emits_one_event(src: S, dst: S) -> None:
    state = order_in(src)
    events = move(state, dst)
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, OrderCancelled if dst is S.CANCELLED else OrderStatusChanged)
    assert event.version == state.version + 1
    assert fold(state, events).status is dst


REFUSED = [(a, b) for a, b in itertools.product(S, S) if (a, b) not in ALLOWED]


@pytest.mark.parametrize("src,dst", REFUSED)
def test_refused_transition_names_both_statuses(src: S, dst: S) -> None:
    state = order_in(src)
    with pytest.raises(InvalidStatusTransition) as refused:
        move(state, dst)
    assert (refused.value.from_status, refused.value.to_status) == (src.value, dst.value)


def test_cancelling_through_update_status_is_refused_pointing_at_cancel() -> None:
    with pytest.raises(ValidationError) as refused:
        decide(order_in(S.PENDING), UpdateOrderStatus("o1", S.CANCELLED), now=NOW, metadata=META)
    assert refused.value.field == "status"
    assert "cancelOrder" in refused.value.message


@pytest.mark.parametrize("status", [S.PENDING, S.CANCELLED])
def test_delete_allowed_for_pending_and_cancelled(status: S) -> None:
    state = order_in(status)
    events = decide(state, DeleteOrder("o1"), now=NOW, metadata=META)
    assert isinstance(events[0], Deleted)
    assert fold(state, events).deleted


@pytest.mark.parametrize("status", [S.CONFIRMED, S.PROCESSING, S.SHIPPED, S.DELIVERED])
def test_delete_refused_once_confirmed(status: S) -> None:
    with pytest.raises(InvalidStatusTransition):
        decide(order_in(status), DeleteOrder("o1"), now=NOW, metadata=META)


@pytest.mark.parametrize(
    "command",
    [UpdateOrderStatus("o1", S.CONFIRMED), CancelOrder("o1", "x"), DeleteOrder("o1"), create()],
)
def test_every_command_on_a_deleted_order_is_refused(command: object) -> None:
    state = order_in(S.PENDING)
    state = fold(state, decide(state, DeleteOrder("o1"), now=NOW, metadata=META))
    expected = OrderAlreadyExists if isinstance(command, CreateOrder) else OrderDeleted
    with pytest.raises(expected):
        decide(state, command, now=NOW, metadata=META)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "command", [UpdateOrderStatus("o1", S.CONFIRMED), CancelOrder("o1", "x"), DeleteOrder("o1")]
)
def test_commands_on_a_missing_order_are_refused(command: object) -> None:
    with pytest.raises(OrderNotFound):
        decide(Order("o1"), command, now=NOW, metadata=META)  # type: ignore[arg-type]
