"""createOrder: the aggregate computes money exactly and refuses bad input by field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders_gql.domain.commands import CancelOrder, CreateOrder, ItemInput, Metadata
from orders_gql.domain.errors import ValidationError
from orders_gql.domain.events import OrderCreated
from orders_gql.domain.model import Order, decide, event_id_for, fold
from orders_gql.domain.status import OrderStatus

NOW = datetime(2026, 1, 2, tzinfo=UTC)
META = Metadata(command_id="cmd-1", correlation_id="corr-1", issued_by="alice")


def item(**kw: object) -> ItemInput:
    values: dict[str, object] = {
        "product_id": "sku-1",
        "product_name": "Mug",
        "quantity": 1,
        "price": Decimal("9.99"),
    }
    values.update(kw)
    return ItemInput(**values)  # type: ignore[arg-type]


def create(*items: ItemInput, name: str = "Grace Hopper", email: str = "grace@example.com"):
    return CreateOrder("o1", name, email, tuple(items) or (item(),))


def decide_create(cmd: CreateOrder) -> list:
    return decide(Order("o1"), cmd, now=NOW, metadata=META)


def test_total_is_exact_sum_of_subtotals() -> None:
    events = decide_create(
        create(item(price=Decimal("0.10"), quantity=3), item(price=Decimal("19.99"), quantity=2))
    )
    created = events[0]
    assert isinstance(created, OrderCreated)
    assert created.total_amount == Decimal("40.28")
    assert [i.subtotal for i in created.items] == [Decimal("0.30"), Decimal("39.98")]


def test_created_event_carries_envelope_and_metadata() -> None:
    (created,) = decide_create(create())
    assert created.version == 1
    assert created.occurred_at == NOW
    assert created.event_id == event_id_for("cmd-1", 1)
    assert created.metadata == {
        "commandId": "cmd-1",
        "correlationId": "corr-1",
        "issuedBy": "alice",
    }
    state = fold(Order("o1"), [created])
    assert state.status is OrderStatus.PENDING
    assert state.order_date == NOW


def test_names_and_emails_are_normalised() -> None:
    (created,) = decide_create(create(name="  Ada  ", email=" Ada@Example.COM "))
    assert created.customer_name == "Ada"
    assert created.customer_email == "ada@example.com"  # one customer, whatever the case


@pytest.mark.parametrize(
    "cmd,field",
    [
        (create(name="A"), "customerName"),
        (create(name="x" * 101), "customerName"),
        (create(email="not-an-email"), "customerEmail"),
        (create(email="a@b"), "customerEmail"),
        (create(email="a b@example.com"), "customerEmail"),
        (CreateOrder("o1", "Ada", "ada@example.com", ()), "items"),
        (create(*[item()] * 101), "items"),
        (create(item(product_id="")), "items.0.productId"),
        (create(item(product_id="x" * 65)), "items.0.productId"),
        (create(item(), item(product_name="  ")), "items.1.productName"),
        (create(item(product_name="x" * 201)), "items.0.productName"),
        (create(item(quantity=0)), "items.0.quantity"),
        (create(item(quantity=-1)), "items.0.quantity"),
        (create(item(quantity=10_001)), "items.0.quantity"),
        (create(item(price=Decimal("-0.01"))), "items.0.price"),
        (create(item(price=Decimal("1.999"))), "items.0.price"),
        (create(item(price=Decimal("NaN"))), "items.0.price"),
        (create(item(price=Decimal("Infinity"))), "items.0.price"),
        (create(item(price=Decimal("1000000.01"))), "items.0.price"),
        (create(name="Ada\x00Love"), "customerName"),
        (create(name="Ada\nLove"), "customerName"),
        (create(name="\u200b\u200b"), "customerName"),  # zero-width spaces only
        (create(name="A\u200b"), "customerName"),  # one visible character
        (create(item(product_name="Pen\x07")), "items.0.productName"),
        (create(item(product_id="p\t1")), "items.0.productId"),
    ],
)
def test_refusals_name_the_field(cmd: CreateOrder, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        decide_create(cmd)
    assert refused.value.field == field
    assert refused.value.message.startswith(field)


@pytest.mark.parametrize("price", ["0", "0.00", "1.5", "1.50", "1.500", "999999.99"])
def test_accepted_prices(price: str) -> None:
    (created,) = decide_create(create(item(price=Decimal(price))))
    assert isinstance(created, OrderCreated)
    assert created.items[0].price == Decimal(price).quantize(Decimal("0.01"))


def test_quantity_bounds_are_inclusive() -> None:
    (created,) = decide_create(create(item(quantity=1), item(quantity=10_000)))
    assert isinstance(created, OrderCreated)
    assert [i.quantity for i in created.items] == [1, 10_000]


@pytest.mark.parametrize(
    "reason,ok",
    [
        ("", False),
        ("   ", False),
        ("x" * 501, False),
        ("late", True),
        ("late\n\tand broken", True),  # a reason may have lines
        ("late\x00", False),
        ("\u200b", False),
    ],
)
def test_cancel_reason_is_required_and_bounded(reason: str, ok: bool) -> None:
    state = fold(Order("o1"), decide_create(create()))
    if ok:
        assert decide(state, CancelOrder("o1", reason), now=NOW, metadata=META)
    else:
        with pytest.raises(ValidationError) as refused:
            decide(state, CancelOrder("o1", reason), now=NOW, metadata=META)
        assert refused.value.field == "reason"


def test_names_in_any_script_are_kept() -> None:
    (created,) = decide_create(create(name="  Zoë 李 \u200dO'Brien  "))
    assert created.customer_name == "Zoë 李 \u200dO'Brien"
