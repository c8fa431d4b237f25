"""GraphQL types answered from the read models."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from ..domain.status import OrderStatus as DomainStatus
from ..readside import documents as docs
from ..readside.decimals import stored_decimal
from ..readside.queries import StoredView
from .types import Order, OrderItem, OrderStatus, StatusChange


def order_from_document(view: StoredView) -> Order:
    """An order of the read models, from its view as stored."""
    order = Order(
        order_id=strawberry.ID(view["_id"]),
        customer_name=view["customer_name"],
        customer_email=view["customer_email"],
        items=[
            OrderItem(
                product_id=i["product_id"],
                product_name=i["product_name"],
                quantity=i["quantity"],
                price=stored_decimal(i["price"]),
                subtotal=stored_decimal(i["subtotal"]),
            )
            for i in view["items"]
        ],
        total_amount=stored_decimal(view["total_amount"]),
        order_date=view["order_date"],
        status=DomainStatus(view["status"]),
        version=view["version"],
        cancellation_reason=view.get("cancellation_reason"),
        deleted=view.get("deleted", False),
        updated_at=view["updated_at"],
    )
    order.status_history = [
        StatusChange(status=DomainStatus(s["status"]), at=s["at"], version=s["version"])
        for s in view["status_history"]
    ]
    return order


def money(amount_cents: int) -> Decimal:
    return (Decimal(amount_cents) / 100).quantize(Decimal("0.01"))


@strawberry.type
class StatusCount:
    status: OrderStatus  # type: ignore[valid-type]
    count: int = strawberry.field(description="Orders in this status, deleted ones left out.")


@strawberry.type
class StatusRevenue:
    status: OrderStatus  # type: ignore[valid-type]
    revenue: Decimal = strawberry.field(
        description="Sum of the totals of the orders in this status (0 for CANCELLED)."
    )


@strawberry.type
class MonthCount:
    month: str = strawberry.field(description="YYYY-MM of the order date (UTC).")
    count: int = strawberry.field(description="Orders placed in that month, deleted ones left out.")


@strawberry.type(
    description="Totals over orders that are not deleted. Revenue counts orders that are "
    "neither cancelled nor deleted: revenueByStatus lists every status, CANCELLED at 0."
)
class OrderSummary:
    total_orders: int = strawberry.field(description="Orders that are not deleted.")
    total_revenue: Decimal = strawberry.field(
        description="Sum of the totals of orders neither cancelled nor deleted."
    )
    orders_by_status: list[StatusCount] = strawberry.field(
        description="Every status, with its count (0 included)."
    )
    revenue_by_status: list[StatusRevenue] = strawberry.field(
        description="Every status, with its revenue; their sum is totalRevenue."
    )
    orders_by_month: list[MonthCount] = strawberry.field(
        description="Per month of the order date (UTC), oldest first."
    )

    @classmethod
    def from_doc(cls, doc: docs.OrderSummaryFields) -> OrderSummary:
        return cls(
            total_orders=doc.total_orders,
            total_revenue=money(doc.total_revenue_cents),
            orders_by_status=[
                StatusCount(status=s, count=doc.orders_by_status.get(s.value, 0))
                for s in DomainStatus
            ],
            revenue_by_status=[
                StatusRevenue(status=s, revenue=money(doc.revenue_by_status_cents.get(s.value, 0)))
                for s in DomainStatus
            ],
            orders_by_month=[
                MonthCount(month=m, count=n) for m, n in sorted(doc.orders_by_month.items())
            ],
        )


@strawberry.type(description="A customer's orders (not deleted) and revenue (see OrderSummary).")
class CustomerStats:
    customer_email: str = strawberry.field(description="The customer: their email, in lower case.")
    customer_name: str = strawberry.field(description="The name on their newest order.")
    order_count: int = strawberry.field(description="Their orders that are not deleted.")
    total_spent: Decimal = strawberry.field(
        description="Sum of the totals of their orders neither cancelled nor deleted."
    )

    @classmethod
    def from_doc(cls, doc: docs.CustomerStatsFields) -> CustomerStats:
        return cls(
            customer_email=doc.id,
            customer_name=doc.customer_name,
            order_count=doc.order_count,
            total_spent=money(doc.total_spent_cents),
        )
