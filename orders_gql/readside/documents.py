"""Beanie read models. Each generation of read models lives in its own
collections (`order_views_<gen>` ...), so a rebuild can fill new ones while the
current ones keep answering; `ActiveGeneration` names the one queries use.

Money in statistics is kept in integer cents, so increments are exact and
sortable; amounts have at most two decimals by the domain's rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from beanie import DecimalAnnotation, Document
from pydantic import BaseModel, ConfigDict, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

#: The single summary document's id.
SUMMARY_ID = "summary"
#: The pointer document's id in the `readside` collection.
ACTIVE_ID = "active"

_BY_NAME = ConfigDict(populate_by_name=True)
_NEWEST = [("order_date", DESCENDING), ("_id", DESCENDING)]
_LIVE_NEWEST = [("deleted", ASCENDING), *_NEWEST]


class StatusChange(BaseModel):
    status: str
    at: datetime
    version: int


class ItemView(BaseModel):
    product_id: str
    product_name: str
    quantity: int
    price: DecimalAnnotation
    subtotal: DecimalAnnotation


class OrderViewFields(BaseModel):
    """One order as the queries see it; `version` guards every change."""

    model_config = _BY_NAME

    id: str = Field(alias="_id")  # the order id
    customer_name: str
    customer_email: str
    items: list[ItemView]
    total_amount: DecimalAnnotation
    total_cents: int
    order_date: datetime
    status: str
    status_history: list[StatusChange]
    cancellation_reason: str | None = None
    deleted: bool = False
    version: int
    position: str = Field(description="Log position of the last applied event.")
    created_at: datetime
    updated_at: datetime


class OrderView(OrderViewFields, Document):  # type: ignore[misc]
    """The order views' document: collection and indexes."""

    class Settings:
        name = "order_views"
        use_revision = False
        indexes: ClassVar[list[IndexModel]] = [
            IndexModel(_LIVE_NEWEST, name="newest"),
            IndexModel(
                [("deleted", ASCENDING), ("status", ASCENDING), *_NEWEST],
                name="by_status_newest",
            ),
            IndexModel(
                [("deleted", ASCENDING), ("customer_email", ASCENDING), *_NEWEST],
                name="by_customer_newest",
            ),
            IndexModel([("deleted", ASCENDING), ("total_cents", ASCENDING)], name="by_amount"),
        ]


class CustomerStatsFields(BaseModel):
    """Per customer: orders not deleted, and what they spent (revenue, see Summary)."""

    model_config = _BY_NAME

    id: str = Field(alias="_id")  # the customer email
    customer_name: str
    #: "<order date>|<order id>" of the order whose name is shown (the newest).
    name_key: str
    order_count: int = 0
    total_spent_cents: int = 0


class CustomerStats(CustomerStatsFields, Document):  # type: ignore[misc]
    class Settings:
        name = "customer_stats"
        use_revision = False
        indexes: ClassVar[list[IndexModel]] = [
            IndexModel(
                [
                    ("total_spent_cents", DESCENDING),
                    ("order_count", DESCENDING),
                    ("_id", ASCENDING),
                ],
                name="top_customers",
            )
        ]


class CustomerChangesFields(BaseModel):
    """The changes of one slice of the customers (see batchwrite.change_slice)
    by one committed batch of live projection, not yet folded into their
    documents: [email, orders, revenue in cents, name_key, name] each. Written
    in the batch's transaction, so a customer's figures are its document plus
    its unfolded changes (see readside.customers)."""

    model_config = _BY_NAME

    id: str = Field(alias="_id")
    slice: int
    changes: list[tuple[str, int, int, str, str]]


class CustomerChanges(CustomerChangesFields, Document):  # type: ignore[misc]
    class Settings:
        name = "customer_changes"
        use_revision = False
        indexes: ClassVar[list[IndexModel]] = [IndexModel([("slice", ASCENDING)], name="slice")]


class OrderSummaryFields(BaseModel):
    """Totals over all orders that are not deleted. Revenue counts orders that
    are neither cancelled nor deleted, so `revenue_by_status` has no cancelled
    share and its values add up to `total_revenue_cents`."""

    model_config = _BY_NAME

    id: str = Field(default=SUMMARY_ID, alias="_id")
    total_orders: int = 0
    total_revenue_cents: int = 0
    orders_by_status: dict[str, int] = Field(default_factory=dict)
    revenue_by_status_cents: dict[str, int] = Field(default_factory=dict)
    orders_by_month: dict[str, int] = Field(default_factory=dict)


class OrderSummary(OrderSummaryFields, Document):  # type: ignore[misc]
    class Settings:
        name = "order_summary"
        use_revision = False


class CheckpointFields(BaseModel):
    """How far a generation got: the highest applied log position per partition.
    Written in the same transaction as the read-model changes of each batch;
    `sealed` once a newer generation replaced it, so late writers retry there."""

    model_config = _BY_NAME

    id: str = Field(alias="_id")  # the generation
    positions: dict[str, str] = Field(default_factory=dict)
    applied: int = 0
    sealed: bool = False
    updated_at: datetime | None = None


class Checkpoint(CheckpointFields, Document):  # type: ignore[misc]
    class Settings:
        name = "projection_checkpoints"
        use_revision = False


class ActiveGeneration(Document):
    """The pointer queries and projectors follow; switched in one transaction."""

    id: str = ACTIVE_ID  # type: ignore[assignment]
    generation: str
    switched_at: datetime | None = None

    class Settings:
        name = "readside"
        use_revision = False
