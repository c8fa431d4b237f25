"""Read-model queries: filters, newest-first keyset pagination, search,
statistics. Deleted orders are never returned."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import functools
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, TypeVar

import orjson
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import ExecutionTimeout

from ..domain.events import to_millis
from .batch import mongo_errors_as_unavailable
from .batchwrite import find_by_ids
from .customers import unfolded
from .documents import SUMMARY_ID, CustomerStatsFields, OrderSummaryFields
from .generations import ReadModels
from .projection import cents
from .transactions import run_transaction

SEARCH_MAX = 100
T = TypeVar("T")


class QueryTimeLimit(Exception):
    """MongoDB stopped a query that ran over its time limit (maxTimeMS)."""

    def __init__(self, limit_ms: int) -> None:
        super().__init__(f"the query ran over its time limit of {limit_ms / 1000:g}s")
        self.limit_ms = limit_ms


@contextlib.contextmanager
def _limited(limit_ms: int) -> Iterator[None]:
    """MongoDB's errors raised inside as ReadSideUnavailable, but a query it
    stopped at its time limit as QueryTimeLimit."""
    with mongo_errors_as_unavailable():
        try:
            yield
        except ExecutionTimeout as exc:
            raise QueryTimeLimit(limit_ms) from exc


#: Past any order's total (100 items of 10,000 at 1,000,000.00 is 10**14
#: cents) and within MongoDB's 64-bit integers.
_CENTS_CAP = 10**18


def _cents_bound(amount: Decimal, rounding: str) -> int:
    """An amount bound in whole cents, exact for any number of decimals: a
    lower bound rounds up and an upper one down (0.005 excludes 0.00, 39.975
    excludes 39.98); one past every total is capped, which keeps its meaning."""
    return _CENTS_CAP if amount >= _CENTS_CAP else cents(amount, rounding)


class BadCursor(ValueError):
    """The `after` cursor was not produced by this API."""


@dataclass(frozen=True)
class OrderFilterSpec:
    status: str | None = None
    customer_email: str | None = None
    from_date: datetime | None = None
    to_date: datetime | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    search: str | None = None

    def query(self) -> dict[str, Any]:
        q: dict[str, Any] = {"deleted": False}
        if self.status is not None:
            q["status"] = self.status
        if self.customer_email is not None:
            q["customer_email"] = self.customer_email
        dates: dict[str, datetime] = {}
        if self.from_date is not None:
            # >= the date, to the millisecond as MongoDB stores dates, written as
            # > one millisecond before: the same on MongoDB, and SecantusDB (0.7)
            # leaves out the bound of $gte on a descending index key (here the
            # lists' `newest`), so an order was missing from its own date on.
            dates["$gt"] = to_millis(self.from_date) - timedelta(milliseconds=1)
        if self.to_date is not None:
            dates["$lte"] = self.to_date
        if dates:
            q["order_date"] = dates
        amounts: dict[str, int] = {}
        if self.min_amount is not None:
            amounts["$gte"] = _cents_bound(self.min_amount, ROUND_CEILING)
        if self.max_amount is not None:
            amounts["$lte"] = _cents_bound(self.max_amount, ROUND_FLOOR)
        if amounts:
            q["total_cents"] = amounts
        if self.search is not None:
            pattern = {"$regex": re.escape(self.search), "$options": "i"}
            q["$or"] = [
                {"customer_name": pattern},
                {"customer_email": pattern},
                {"items.product_name": pattern},
            ]
        return q

    def counted_in_summary(self) -> bool:
        """Whether the summary holds this filter's count: no filter but the
        status (the summary counts the orders not deleted, and by status)."""
        return all(
            getattr(self, f.name) is None for f in dataclasses.fields(self) if f.name != "status"
        )


#: An order view as stored (BSON values: Decimal128, aware datetimes). Queries
#: hand these on as they come: the projector wrote them from validated models,
#: and validating them again was a twentieth of a single-order read.
StoredView = Mapping[str, Any]


@dataclass(frozen=True)
class Rows:
    """One page of a list: its orders, and where the next page starts."""

    items: list[StoredView]
    has_next: bool
    end_cursor: str | None


@dataclass(frozen=True)
class Page:
    """A list's page and count, each read when someone asks for it: a request
    for `totalCount` alone reads no page (a sorted find, which SecantusDB
    answers by sorting every matching order), one for the page alone counts
    nothing (a second pass over the matches, a scan for a search)."""

    rows: Callable[[], Awaitable[Rows]]
    count: Callable[[], Awaitable[int]]


def once(read: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
    """`read`, run at its first call; later calls await that same run. An
    awaiter that is cancelled leaves the run to the others."""
    started: list[asyncio.Future[T]] = []

    def call() -> Awaitable[T]:
        if not started:
            task = asyncio.ensure_future(read())
            # its error is its awaiters' to raise, also when they were all cancelled
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            started.append(task)
        return asyncio.shield(started[0])

    return call


def encode_cursor(view: StoredView) -> str:
    raw = orjson.dumps([view["order_date"].isoformat(), view["_id"]])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        date, order_id = orjson.loads(raw)
        return datetime.fromisoformat(date), str(order_id)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise BadCursor("is not a cursor of this list") from exc


_NEWEST = [("order_date", DESCENDING), ("_id", DESCENDING)]


def list_orders(
    models: ReadModels,
    spec: OrderFilterSpec,
    first: int,
    after: str | None,
    time_limit_ms: int = 0,
) -> Page:
    """A page of the orders `spec` matches, newest first, from `after` on
    (a cursor: BadCursor when it is not one); nothing is read until asked.
    MongoDB stops the page's find and the count after `time_limit_ms` (0:
    never): a search or a filter no index serves scans every order, and
    would otherwise run on after its caller gave up (QueryTimeLimit)."""
    base = spec.query()
    query = dict(base)
    if after is not None:
        date, order_id = decode_cursor(after)
        query = {
            "$and": [
                base,
                {"$or": [
                    {"order_date": {"$lt": date}},
                    {"order_date": date, "_id": {"$lt": order_id}},
                ]},
            ]
        }  # fmt: skip
    views = models.views.get_pymongo_collection()

    async def rows() -> Rows:
        with _limited(time_limit_ms):  # through pymongo, as stored (see StoredView)
            cursor = views.find(query).sort(_NEWEST).limit(first + 1)
            if time_limit_ms:
                cursor = cursor.max_time_ms(time_limit_ms)
            found: list[StoredView] = await cursor.to_list()
        items = found[:first]
        return Rows(
            items=items,
            has_next=len(found) > first,
            end_cursor=encode_cursor(items[-1]) if items else None,
        )

    async def count() -> int:
        if spec.counted_in_summary():
            # The projection keeps these counts in the summary, written in the
            # same transactions as the views: one document, where counting the
            # views is a pass over every matching order (1.75 s at 60,000 on
            # SecantusDB, which held the projection up meanwhile).
            summary = await get_summary(models)
            if spec.status is None:
                return summary.total_orders
            return summary.orders_by_status.get(spec.status, 0)
        limit = {"maxTimeMS": time_limit_ms} if time_limit_ms else {}
        with _limited(time_limit_ms):
            return int(await views.count_documents(base, **limit))

    return Page(rows=once(rows), count=count)


async def get_order(models: ReadModels, order_id: str) -> StoredView | None:
    # By _id alone (SecantusDB plans a second field per query; _id alone is a
    # point lookup), with pymongo (Beanie's FindOne and Document cost a tenth
    # of a single-order read), gathered with concurrent reads (see pointreads).
    raw = await models.views_by_id.get(order_id)
    if raw is None or raw.get("deleted"):
        return None
    return raw


async def get_summary(models: ReadModels) -> OrderSummaryFields:
    with mongo_errors_as_unavailable():  # through pymongo, as plain pydantic (see get_order)
        raw = await models.summary.get_pymongo_collection().find_one({"_id": SUMMARY_ID})
    return OrderSummaryFields.model_validate(raw) if raw else OrderSummaryFields()


#: How many customers a topCustomers query fetches: the smallest window that
#: holds its `limit` (the API's largest is 100; unfolded changes add to it),
#: so that the spending of the window's last customer is a floor for the next
#: query of that window. SecantusDB reads the whole range above a floor, so a
#: query for the top 10 reads about 10 documents, not 100 (3 vs 13 ms).
TOP_WINDOWS = (10, 25, 100)
#: The largest window of TOP_WINDOWS; larger ones are multiples of it.
TOP_WINDOW = TOP_WINDOWS[-1]
#: Per generation and window: a spending that at least a window of customers
#: reached when last looked. Spending mostly grows while orders are placed,
#: so the top customers stay above it; when too few are there, it is lowered.
_top_floor: dict[tuple[str, int], int] = {}
#: Where a window's first topCustomers query starts looking (in cents),
#: and by how much it lowers the floor while too few customers are above it
#: (the last range read holds at most about TOP_DROP times the window).
TOP_START = 2**40
TOP_DROP = 4
#: Per generation and window: queries wait while one looks for the floor,
#: instead of each looking (four at once after a replay made the p99 four
#: times the p50).
_top_search: dict[tuple[str, int], asyncio.Lock] = {}


def top_window(limit: int) -> int:
    """The number of customers a query for the top `limit` reads."""
    for window in TOP_WINDOWS:
        if limit <= window:
            return window
    return -(-limit // TOP_WINDOW) * TOP_WINDOW


_TOP_SORT = [
    ("total_spent_cents", DESCENDING),
    ("order_count", DESCENDING),
    ("_id", ASCENDING),
]


async def top_customers(models: ReadModels, limit: int) -> list[CustomerStatsFields]:
    """The top `limit` customers by spending (then order count, then email),
    their documents moved by the changes live projection has not folded into
    them yet (readside.customers): the top `limit` + as many as have changes
    among the documents, of whom those without changes keep their rank, and
    those with changes at their moved figures.

    The changes and the documents are read in one snapshot (a read-only
    transaction): a fold moves changes into documents in one commit, and read
    on either side of it they would count twice or not at all."""
    client = models.customers.get_pymongo_collection().database.client
    with mongo_errors_as_unavailable():
        return await run_transaction(
            client,
            functools.partial(_top_customers, models=models, limit=limit),
            snapshot=True,
            time_limit=1.0,
        )


async def _top_customers(
    session: AsyncClientSession, models: ReadModels, limit: int
) -> list[CustomerStatsFields]:
    changes = await unfolded(models, session)
    found = await _top_documents(models, limit + len(changes), session)
    if not changes:
        return found
    kept = [c for c in found if c.id not in changes]
    stored = await find_by_ids(models.customers, CustomerStatsFields, sorted(changes), session)
    by_id = {c.id: c for c in stored}
    moved = [change.applied(email, by_id.get(email)) for email, change in changes.items()]
    moved = [c for c in moved if c.order_count > 0]
    ranked = sorted(kept + moved, key=lambda c: (-c.total_spent_cents, -c.order_count, c.id))
    return ranked[:limit]


async def _top_documents(
    models: ReadModels, limit: int, session: AsyncClientSession
) -> list[CustomerStatsFields]:
    """The top `limit` customers' documents by spending (then order count,
    then email).

    SecantusDB sorts every customer for an indexed sort + limit (20,000
    customers: over a second), but a range on the index's leading field reads
    only that range. So the query asks for the customers at or above a floor,
    which gives the same answer whenever at least `limit` of them are there
    (anyone below ranks lower): the floor remembered from the last query,
    divided by TOP_DROP until enough customers are above it; a floor per
    window (`top_window`), so that the top 10 read about 10 documents. Only
    when fewer than a window of customers spent anything are all of them
    sorted."""
    key = (models.generation, top_window(limit))
    if key not in _top_floor:
        async with _top_search.setdefault(key, asyncio.Lock()):
            return await _top_from_floor(models, key, limit, session)
    return await _top_from_floor(models, key, limit, session)


async def _top_from_floor(
    models: ReadModels, key: tuple[str, int], limit: int, session: AsyncClientSession
) -> list[CustomerStatsFields]:
    window = key[1]
    floor = _top_floor.get(key, TOP_START)
    found = await _top(models, {"total_spent_cents": {"$gte": floor}}, window, session)
    while len(found) < window and floor > 1:
        floor //= TOP_DROP
        found = await _top(models, {"total_spent_cents": {"$gte": floor}}, window, session)
    if len(found) < window:  # those who spent nothing (all cancelled) rank too
        found = await _top(models, {}, window, session)
    if len(found) >= window:
        _top_floor[key] = found[window - 1].total_spent_cents
    else:
        _top_floor.pop(key, None)
    return found[:limit]


async def _top(
    models: ReadModels, where: dict[str, Any], window: int, session: AsyncClientSession
) -> list[CustomerStatsFields]:
    query = {**where, "order_count": {"$gt": 0}}
    collection = models.customers.get_pymongo_collection()
    cursor = collection.find(query, session=session).sort(_TOP_SORT).limit(window)
    return [CustomerStatsFields.model_validate(raw) async for raw in cursor]
