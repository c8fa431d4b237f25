"""The MongoDB writes of one batch: the order views, then the customers' and
the summary's figures moved by each order's change of contribution (see
projection). Runs inside the batch's transaction.

Read models here are the plain pydantic models (`...Fields`), read and written
through pymongo: Beanie's Document layer and its generic encoder cost a third
of the projector's CPU, for the same BSON."""

from __future__ import annotations

import uuid
import zlib
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel
from pymongo import InsertOne, ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError

from .batch import Conflict
from .decimals import decimal128_of
from .documents import SUMMARY_ID, CustomerStatsFields, OrderSummaryFields, OrderViewFields
from .generations import ReadModels
from .pointreads import IN_CHUNK
from .projection import Contribution, CustomerChange, apply_to_summary

_Model = TypeVar("_Model", bound=BaseModel)

DUPLICATE_KEY = 11000


def as_document(model: BaseModel) -> dict[str, Any]:
    """The BSON document of a read model: pydantic's dump with the Decimals as
    Decimal128, as Beanie stores them."""
    encoded: dict[str, Any] = _bson(model.model_dump(by_alias=True))
    encoded.pop("revision_id", None)
    return encoded


def _bson(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _bson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_bson(v) for v in value]
    if isinstance(value, Decimal):
        return decimal128_of(value)
    return value


def _in_chunks(ids: list[str]) -> Iterator[dict[str, Any]]:
    """`{_id: {$in: ...}}` filters for these ids, IN_CHUNK at a time."""
    for start in range(0, len(ids), IN_CHUNK):
        yield {"_id": {"$in": ids[start : start + IN_CHUNK]}}


async def _by_ids(
    document: Any, ids: list[str], session: AsyncClientSession | None = None
) -> AsyncIterator[dict[str, Any]]:
    """The stored documents of `document`'s collection with these ids."""
    collection = document.get_pymongo_collection()
    for query in _in_chunks(ids):
        async for raw in collection.find(query, session=session):
            yield raw


async def find_by_ids(
    document: Any, model: type[_Model], ids: list[str], session: AsyncClientSession | None = None
) -> list[_Model]:
    """The documents of `document`'s collection with these ids, as `model`."""
    return [model.model_validate(raw) async for raw in _by_ids(document, ids, session)]


@dataclass
class StoredViews:
    """The views of a batch's orders as read in its transaction: each as the
    projection sees it (`lean`: without items and status history, which no
    event changes after the creation but by appending to the history) and as
    stored (`raw`, BSON values kept, to write the next version from)."""

    lean: dict[str, OrderViewFields] = field(default_factory=dict)
    raw: dict[str, dict[str, Any]] = field(default_factory=dict)

    def replacement(self, view: OrderViewFields) -> dict[str, Any]:
        """The stored document of `view`, the next version of a lean one: the
        stored one with the changed fields and the new history entries."""
        raw = self.raw[view.id]
        old = self.lean[view.id].model_dump(exclude=_HEAVY)
        new = view.model_dump(exclude=_HEAVY)
        changed = {k: v for k, v in new.items() if old.get(k) != v}
        added = view.status_history[len(self.lean[view.id].status_history) :]
        history = [*raw["status_history"], *(c.model_dump() for c in added)]
        return {**raw, **_bson(changed), "status_history": history}


_HEAVY = {"items", "status_history"}


async def find_views(document: Any, ids: list[str], session: AsyncClientSession) -> StoredViews:
    """The views of these orders (see StoredViews)."""
    found = StoredViews()
    async for raw in _by_ids(document, ids, session):
        lean = OrderViewFields.model_validate({**raw, "items": [], "status_history": []})
        found.lean[lean.id], found.raw[lean.id] = lean, raw
    return found


async def _write(
    document: Any,
    session: AsyncClientSession,
    replaced: dict[str, dict[str, Any]],
    inserted: list[dict[str, Any]],
    reinsert: bool,
) -> None:
    """Replace documents read in this transaction and insert new ones, in one
    bulk write; raises Conflict when one changed or appeared since. With
    `reinsert`, the replaced documents are deleted first (by `$in`) and
    inserted again with the new ones: the same outcome, as the transaction
    commits both or neither."""
    collection = document.get_pymongo_collection()
    ops: list[Any] = [InsertOne(doc) for doc in inserted]
    if reinsert:
        deleted = 0
        for query in _in_chunks(list(replaced)):
            deleted += (await collection.delete_many(query, session=session)).deleted_count
        if deleted != len(replaced):
            raise Conflict("a read model document vanished under the batch")
        ops = [InsertOne(doc) for doc in replaced.values()] + ops
    else:
        ops = [ReplaceOne({"_id": key}, doc) for key, doc in replaced.items()] + ops
    if not ops:
        return
    try:
        result = await collection.bulk_write(ops, ordered=False, session=session)
    except BulkWriteError as exc:
        if any(e.get("code") == DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
            raise Conflict("a read model document appeared under the batch") from exc
        raise
    if result.matched_count + result.inserted_count != len(ops):
        raise Conflict("a read model document vanished under the batch")


#: The customers are spread over this many slices by their email (crc32); a
#: batch writes one change document per slice its customers fall in, so the
#: projector can fold one slice at a time (readside.customers).
CHANGE_SLICES = 16


def change_slice(email: str) -> int:
    """The slice a customer's changes are kept in."""
    return zlib.crc32(email.encode()) % CHANGE_SLICES


def change_documents(changes: dict[str, CustomerChange]) -> list[dict[str, Any]]:
    """The documents of a batch's customers' changes, one per slice, each with
    [email, orders, revenue in cents, name_key, name] per customer (see
    documents.CustomerChangesFields)."""
    slices: dict[int, list[list[Any]]] = defaultdict(list)
    for email, c in sorted(changes.items()):
        slices[change_slice(email)].append(
            [email, c.orders, c.revenue_cents, c.name_key, c.customer_name]
        )
    return [
        {"_id": uuid.uuid4().hex, "slice": k, "changes": entries}
        for k, entries in sorted(slices.items())
    ]


def _share(c: Contribution | None) -> tuple[int, int]:
    """What an order adds to its customer's document."""
    return (0, 0) if c is None else (c.orders, c.revenue_cents)


async def write_batch(
    session: AsyncClientSession,
    models: ReadModels,
    stored: StoredViews,
    after: dict[str, OrderViewFields],
    *,
    defer_customers: bool = False,
) -> dict[str, CustomerChange]:
    """Write `after`, the new views of the batch's orders, `stored` before;
    returns what the batch moves in each customer's document. With
    `defer_customers` those documents are left to the caller (a rebuild
    gathers them over many batches, see ReadStore.write_customers)."""
    before = stored.lean
    # Existing views are replaced (or deleted and inserted again), filtered on
    # _id alone: `before` was read in this transaction, and a transaction that
    # writes a document changed since its snapshot aborts with a WriteConflict
    # (and is retried), so the version it was read at guards the write. New
    # views are inserted: one that appeared since the snapshot is a duplicate
    # key, a Conflict. (On SecantusDB a second field in the filter costs a
    # query plan per document, an update operator a third more than a
    # replacement, and an upsert twice an insert.)
    await _write(
        models.views,
        session,
        {oid: stored.replacement(view) for oid, view in after.items() if oid in before},
        [as_document(view) for oid, view in after.items() if oid not in before],
        models.reinsert,
    )

    summary_doc = await models.summary.get_pymongo_collection().find_one(
        {"_id": SUMMARY_ID}, session=session
    )
    summary = OrderSummaryFields.model_validate(summary_doc or {})
    changes = [(view, Contribution.of(before.get(oid)), Contribution.of(view))
               for oid, view in after.items()]  # fmt: skip
    for _, old, new in changes:
        for contribution, sign in ((old, -1), (new, 1)):
            if contribution is not None:
                apply_to_summary(summary, contribution, sign)
    # A customer's document changes only with a new order (its name may be the
    # newest) or when an order's count or revenue share changes: a plain status
    # change touches the summary alone.
    customers: dict[str, CustomerChange] = {}
    for view, old, new in changes:
        if view.id not in before or _share(old) != _share(new):
            customers.setdefault(view.customer_email, CustomerChange()).add_order(view, old, new)
    if customers and not defer_customers:
        # The batch's changes, one document per slice, folded into the
        # customers' documents later (readside.customers).
        await models.customer_changes.get_pymongo_collection().insert_many(
            change_documents(customers), session=session
        )
    await models.summary.get_pymongo_collection().replace_one(
        {"_id": SUMMARY_ID}, as_document(summary), upsert=True, session=session
    )
    return customers


async def write_customers(
    session: AsyncClientSession, models: ReadModels, changes: dict[str, CustomerChange]
) -> None:
    """Move each customer's document by its change (a new one for a new customer)."""
    emails = sorted(changes)
    customers = {
        c.id: c for c in await find_by_ids(models.customers, CustomerStatsFields, emails, session)
    }
    known = set(customers)
    for email in emails:
        customers[email] = changes[email].applied(email, customers.get(email))
    await _write(
        models.customers,
        session,
        {c.id: as_document(c) for c in customers.values() if c.id in known},
        [as_document(c) for c in customers.values() if c.id not in known],
        models.reinsert,
    )
