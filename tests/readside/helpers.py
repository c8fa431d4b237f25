"""Helpers for read-side tests: the read models as plain documents, the
statistics computed straight from the events, and driving a projector."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from pymongo import monitoring
from pymongo.asynchronous.client_session import AsyncClientSession

from orders_gql.domain.model import Order, fold
from orders_gql.domain.status import OrderStatus
from orders_gql.eventstore.positions import parse_position
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.readside.batchwrite import as_document
from orders_gql.readside.customers import unfolded
from orders_gql.readside.documents import CustomerStatsFields
from orders_gql.readside.generations import ReadModels
from orders_gql.readside.keys import ProjectorKeys
from orders_gql.readside.progress import has_passed
from orders_gql.readside.projection import CustomerChange, cents
from orders_gql.readside.projector import Projector
from orders_gql.readside.store import ReadStore
from orders_gql.readside.transactions import run_transaction


async def documents(models: ReadModels) -> dict[str, list[dict[str, Any]]]:
    """Every document of a generation, sorted by id; the customers' as they
    stand with their unfolded changes (what topCustomers answers). Read in one
    snapshot, as a projector may be folding meanwhile."""

    async def read(session: AsyncClientSession) -> dict[str, list[dict[str, Any]]]:
        out = {}
        for name, cls in (("views", models.views), ("customers", models.customers),
                          ("summary", models.summary)):  # fmt: skip
            found = cls.get_pymongo_collection().find(session=session).sort("_id", 1)
            out[name] = await found.to_list()
        out["customers"] = with_unfolded(out["customers"], await unfolded(models, session))
        return out

    client = models.views.get_pymongo_collection().database.client
    return await run_transaction(client, read, snapshot=True)


def with_unfolded(
    docs: list[dict[str, Any]], changes: dict[str, CustomerChange]
) -> list[dict[str, Any]]:
    stored = {d["_id"]: d for d in docs}
    for email, change in changes.items():
        doc = stored.get(email)
        customer = None if doc is None else CustomerStatsFields.model_validate(doc)
        stored[email] = as_document(change.applied(email, customer))
    return [stored[k] for k in sorted(stored)]


async def all_orders(store: RedisEventStore, partition: int = 0) -> dict[str, Order]:
    """Every order of a partition folded from its own stream (the write side's truth)."""
    ids: set[str] = set()
    after = "0-0"
    while batch := await store.read_log(after=after, count=1000, partition=partition):
        ids |= {s.event.order_id for s in batch}
        after = batch[-1].position
    return {
        oid: fold(Order(oid), [s.event for s in await store.read_stream(oid)])
        for oid in sorted(ids)
    }


def expected_statistics(orders: dict[str, Order]) -> dict[str, Any]:
    """The summary and customer figures, computed directly from folded orders."""
    live = [o for o in orders.values() if not o.deleted]
    revenue = [o for o in live if o.status is not OrderStatus.CANCELLED]
    spent: Counter[str] = Counter()
    for o in revenue:
        spent[o.customer_email] += cents(o.total_amount)
    return {
        "total_orders": len(live),
        "total_revenue_cents": sum(cents(o.total_amount) for o in revenue),
        "orders_by_status": dict(Counter(o.status.value for o in live)),
        "orders_by_month": dict(
            Counter(o.order_date.strftime("%Y-%m") for o in live if o.order_date)
        ),
        "order_count": dict(Counter(o.customer_email for o in live)),
        "total_spent_cents": {k: v for k, v in spent.items() if v},
    }


def statistics_of(docs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    summary = docs["summary"][0] if docs["summary"] else {}
    return {
        "total_orders": summary.get("total_orders", 0),
        "total_revenue_cents": summary.get("total_revenue_cents", 0),
        "orders_by_status": summary.get("orders_by_status", {}),
        "orders_by_month": summary.get("orders_by_month", {}),
        "order_count": {c["_id"]: c["order_count"] for c in docs["customers"] if c["order_count"]},
        "total_spent_cents": {
            c["_id"]: c["total_spent_cents"] for c in docs["customers"] if c["total_spent_cents"]
        },
    }


async def drain(projector: Projector, until: str, timeout: float = 30.0) -> None:
    """Step the projector until it passed position `until`."""
    deadline = time.monotonic() + timeout
    at = parse_position(until, projector.keys.keys.partitions)
    while not await has_passed(projector.redis, projector.keys, at):
        assert time.monotonic() < deadline, f"projector did not pass {until}"
        await projector.step()


async def wait_passed(redis: Any, keys: ProjectorKeys, until: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    at = parse_position(until, keys.keys.partitions)
    while not await has_passed(redis, keys, at):
        assert time.monotonic() < deadline, f"projectors did not pass {until}"
        await asyncio.sleep(0.05)


async def active(store: ReadStore) -> ReadModels:
    models = await store.active()
    assert models is not None
    return models


class Commands(monitoring.CommandListener):
    """The commands sent, as (name, collection)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.sent.append((event.command_name, str(event.command.get(event.command_name))))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
