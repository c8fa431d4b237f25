"""Pure projection rules: how one event changes an order's view, and what an
order contributes to the statistics. No I/O; the store applies the results.

An order counts in `totalOrders`, `ordersByStatus`, `ordersByMonth` and its
customer's `orderCount` while it is not deleted. It counts as revenue (in
`totalRevenue`, `revenueByStatus` and the customer's `totalSpent`) while it is
neither cancelled nor deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from ..domain.events import (
    DomainEvent,
    OrderCancelled,
    OrderCreated,
    OrderDeleted,
    OrderStatusChanged,
)
from ..domain.status import OrderStatus
from .documents import (
    CustomerStatsFields,
    ItemView,
    OrderSummaryFields,
    OrderViewFields,
    StatusChange,
)


class ProjectionError(Exception):
    """An event cannot be applied to the view it meets (a poison event)."""


def cents(amount: Decimal, rounding: str = ROUND_HALF_EVEN) -> int:
    return int((amount * 100).to_integral_value(rounding=rounding))


def month_of(view: OrderViewFields) -> str:
    return view.order_date.strftime("%Y-%m")


def name_key(view: OrderViewFields) -> str:
    return f"{view.order_date.strftime('%Y-%m-%dT%H:%M:%S.%f')}|{view.id}"


def project(view: OrderViewFields | None, event: DomainEvent, position: str) -> OrderViewFields:
    """The view after `event`, which must be the next version of the order."""
    if isinstance(event, OrderCreated):
        if view is not None:
            raise ProjectionError(f"order {event.order_id} is created twice")
        created = OrderViewFields(
            _id=event.order_id,
            customer_name=event.customer_name,
            # lower: events written before emails were kept in lower case
            customer_email=event.customer_email.lower(),
            items=[
                ItemView(
                    product_id=i.product_id,
                    product_name=i.product_name,
                    quantity=i.quantity,
                    price=i.price,
                    subtotal=i.subtotal,
                )
                for i in event.items
            ],
            total_amount=event.total_amount,
            total_cents=cents(event.total_amount),
            order_date=event.occurred_at,
            status=OrderStatus.PENDING.value,
            status_history=[StatusChange(status="pending", at=event.occurred_at, version=1)],
            version=event.version,
            position=position,
            created_at=event.occurred_at,
            updated_at=event.occurred_at,
        )
        return created
    if view is None:
        raise ProjectionError(f"{event.type} for order {event.order_id}, which has no view")
    common = {"version": event.version, "position": position, "updated_at": event.occurred_at}
    if isinstance(event, OrderStatusChanged | OrderCancelled):
        status = (
            event.to_status if isinstance(event, OrderStatusChanged) else OrderStatus.CANCELLED
        ).value
        change = StatusChange(status=status, at=event.occurred_at, version=event.version)
        update: dict[str, object] = {
            **common,
            "status": status,
            "status_history": [*view.status_history, change],
        }
        if isinstance(event, OrderCancelled):
            update["cancellation_reason"] = event.reason
        updated: OrderViewFields = view.model_copy(update=update)
        return updated
    if isinstance(event, OrderDeleted):
        deleted: OrderViewFields = view.model_copy(update={**common, "deleted": True})
        return deleted
    raise ProjectionError(f"no projection for event type {event.type}")


@dataclass(frozen=True)
class Contribution:
    """What one order adds to the statistics in its current state."""

    email: str
    orders: int
    revenue_cents: int
    status: str
    month: str

    @classmethod
    def of(cls, view: OrderViewFields | None) -> Contribution | None:
        if view is None or view.deleted:
            return None
        revenue = 0 if view.status == OrderStatus.CANCELLED.value else view.total_cents
        return cls(view.customer_email, 1, revenue, view.status, month_of(view))


def _add(counter: dict[str, int], key: str, delta: int) -> None:
    value = counter.get(key, 0) + delta
    if value:
        counter[key] = value
    else:
        counter.pop(key, None)


def apply_to_summary(summary: OrderSummaryFields, c: Contribution, sign: int) -> None:
    """Add (sign=1) or remove (sign=-1) one order's contribution."""
    summary.total_orders += sign * c.orders
    summary.total_revenue_cents += sign * c.revenue_cents
    _add(summary.orders_by_status, c.status, sign)
    if c.revenue_cents:
        _add(summary.revenue_by_status_cents, c.status, sign * c.revenue_cents)
    _add(summary.orders_by_month, c.month, sign)


@dataclass(slots=True)
class CustomerChange:
    """What orders' changes move in one customer's document: its order count
    and spending, and the newest of their orders' names (by `name_key`).
    Changes add up in any order, so a rebuild can gather them over many
    batches and write each customer once."""

    orders: int = 0
    revenue_cents: int = 0
    name_key: str = ""
    customer_name: str = ""

    def add_order(
        self, view: OrderViewFields, old: Contribution | None, new: Contribution | None
    ) -> None:
        for contribution, sign in ((old, -1), (new, 1)):
            if contribution is not None:
                self.orders += sign * contribution.orders
                self.revenue_cents += sign * contribution.revenue_cents
        if name_key(view) > self.name_key:
            self.name_key, self.customer_name = name_key(view), view.customer_name

    def add(self, other: CustomerChange) -> None:
        self.orders += other.orders
        self.revenue_cents += other.revenue_cents
        if other.name_key > self.name_key:
            self.name_key, self.customer_name = other.name_key, other.customer_name

    def apply_to(self, customer: CustomerStatsFields) -> None:
        customer.order_count += self.orders
        customer.total_spent_cents += self.revenue_cents
        if self.name_key > customer.name_key:
            customer.customer_name, customer.name_key = self.customer_name, self.name_key

    def applied(self, email: str, customer: CustomerStatsFields | None) -> CustomerStatsFields:
        """`customer` moved by this change; a new customer's document when None."""
        if customer is None:
            customer = CustomerStatsFields(_id=email, customer_name=self.customer_name, name_key="")
        self.apply_to(customer)
        return customer


def summarise(views: list[OrderViewFields]) -> OrderSummaryFields:
    """The summary computed from scratch (for checks and tests)."""
    summary = OrderSummaryFields()
    for view in views:
        c = Contribution.of(view)
        if c is not None:
            apply_to_summary(summary, c, 1)
    return summary
