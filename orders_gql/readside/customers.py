"""The customers' documents under live projection: each batch records its
customers' changes in its own transaction as one small document per slice of
the customers (cheap: one insert, where writing the customers cost SecantusDB
two thirds of a new order's projection), and the projector folds them into
the customers' documents between batches, one slice at a time (after every
second batch while the log is busy, one per step once it is drained), so that
no fold holds the next batch up for long and each customer's document takes
many batches' changes at once (Projector._fold_slice). A customer's figures
are always its document plus its unfolded changes; `topCustomers` reads both
in one snapshot (queries.top_customers)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from .batch import Conflict
from .batchwrite import write_customers
from .generations import ReadModels
from .projection import CustomerChange

#: Change documents one fold takes (each a batch's customers of one slice).
FOLD_DOCUMENTS = 200


def summed(documents: list[dict[str, Any]]) -> dict[str, CustomerChange]:
    """The changes of these change documents, added up per customer."""
    total: dict[str, CustomerChange] = {}
    for doc in documents:
        for email, orders, revenue, key, name in doc["changes"]:
            total.setdefault(email, CustomerChange()).add(
                CustomerChange(orders, revenue, key, name)
            )
    return total


async def unfolded(
    models: ReadModels, session: AsyncClientSession | None = None
) -> dict[str, CustomerChange]:
    """Every change not yet folded, added up per customer."""
    collection = models.customer_changes.get_pymongo_collection()
    return summed(await collection.find({}, session=session).to_list())


async def fold(
    session: AsyncClientSession,
    models: ReadModels,
    limit: int = FOLD_DOCUMENTS,
    slice_: int | None = None,
) -> int:
    """Move up to `limit` change documents (of one slice, or of any) into the
    customers' documents (in `session`'s transaction); returns how many were
    folded."""
    collection = models.customer_changes.get_pymongo_collection()
    query = {} if slice_ is None else {"slice": slice_}
    documents = await collection.find(query, session=session).limit(limit).to_list()
    if not documents:
        return 0
    await write_customers(session, models, summed(documents))
    ids = [d["_id"] for d in documents]
    deleted = (await collection.delete_many({"_id": {"$in": ids}}, session=session)).deleted_count
    if deleted != len(ids):
        raise Conflict("another folder took these changes")
    return len(ids)
