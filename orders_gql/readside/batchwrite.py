"""The MongoDB writes of one batch: the order views, then the customers' and
the summary's figures moved by each order's change of contribution (see
projection). Runs inside the batch's transaction.

Read models here are the plain pydantic models (`...Fields`), read and written
through pymongo: Beanie's Document layer and its generic encoder cost a third
of the projector's CPU, for the same BSON."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from bson import Decimal128
from pydantic import BaseModel
from pymongo import ReplaceOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from .batch import Conflict
from .documents import SUMMARY_ID, CustomerStatsFields, OrderSummaryFields, OrderViewFields
from .generations import ReadModels
from .projection import Contribution, apply_to_customer, apply_to_summary, name_key

_Model = TypeVar("_Model", bound=BaseModel)

#: Ids per `$in` lookup. SecantusDB matches each candidate against the whole
#: `$in` list, so one lookup of n ids costs n^2; chunks keep it linear.
IN_CHUNK = 100


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
        return Decimal128(value)
    return value


async def find_by_ids(
    document: Any, model: type[_Model], ids: list[str], session: AsyncClientSession
) -> list[_Model]:
    """The documents of `document`'s collection with these ids, as `model`."""
    collection = document.get_pymongo_collection()
    found: list[_Model] = []
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        async for raw in collection.find({"_id": {"$in": chunk}}, session=session):
            found.append(model.model_validate(raw))
    return found


#: What the projector reads of a view: all but the items and the status
#: history, which no event changes after the creation except by appending to
#: the history (see `view_update`). A tenth of the bytes of a whole view.
LEAN = {"items": 0, "status_history": 0}


async def find_views(
    document: Any, ids: list[str], session: AsyncClientSession
) -> list[OrderViewFields]:
    """The views of these orders, read without LEAN's fields (left empty)."""
    collection = document.get_pymongo_collection()
    found: list[OrderViewFields] = []
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        async for raw in collection.find({"_id": {"$in": chunk}}, LEAN, session=session):
            found.append(OrderViewFields.model_validate({**raw, "items": [], "status_history": []}))
    return found


def view_update(lean: OrderViewFields, view: OrderViewFields) -> UpdateOne:
    """The update from a view read lean to `view`: the fields that changed,
    and the status changes it added to the history."""
    old, new = lean.model_dump(exclude=set(LEAN)), view.model_dump(exclude=set(LEAN))
    changed = {k: v for k, v in new.items() if old.get(k) != v}
    update: dict[str, Any] = {"$set": _bson(changed)}
    if view.status_history:
        entries = [c.model_dump() for c in view.status_history]
        update["$push"] = {"status_history": {"$each": entries}}
    return UpdateOne({"_id": view.id}, update)


def _share(c: Contribution | None) -> tuple[int, int]:
    """What an order adds to its customer's document."""
    return (0, 0) if c is None else (c.orders, c.revenue_cents)


async def write_batch(
    session: AsyncClientSession,
    models: ReadModels,
    before: dict[str, OrderViewFields],
    after: dict[str, OrderViewFields],
) -> None:
    """Write `after`, the views of the batch's orders; `before` are the ones
    read (lean) in this transaction."""
    # Filtered on _id alone: `before` was read in this transaction, and a
    # transaction that writes a document changed since its snapshot aborts with
    # a WriteConflict (and is retried), so the version it was read at guards the
    # write. (A second field in the filter costs SecantusDB a query plan per
    # document; _id alone is a point lookup.)
    ops = [
        view_update(before[oid], view)
        if oid in before
        else ReplaceOne({"_id": oid}, as_document(view), upsert=True)
        for oid, view in after.items()
    ]
    result = await models.views.get_pymongo_collection().bulk_write(
        ops, ordered=False, session=session
    )
    if result.matched_count + result.upserted_count != len(ops):
        raise Conflict("an order view changed under the batch")

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
    touched = [
        (view, old, new)
        for view, old, new in changes
        if view.id not in before or _share(old) != _share(new)
    ]
    emails = sorted({view.customer_email for view, _, _ in touched})
    customers = {
        c.id: c for c in await find_by_ids(models.customers, CustomerStatsFields, emails, session)
    }
    for view, old, new in touched:
        customer = customers.get(view.customer_email)
        if customer is None:
            customer = customers[view.customer_email] = CustomerStatsFields(
                _id=view.customer_email, customer_name=view.customer_name, name_key=""
            )
        if name_key(view) > customer.name_key:
            customer.customer_name, customer.name_key = view.customer_name, name_key(view)
        for contribution, sign in ((old, -1), (new, 1)):
            if contribution is not None:
                apply_to_customer(customer, contribution, sign)
    if customers:
        await models.customers.get_pymongo_collection().bulk_write(
            [ReplaceOne({"_id": c.id}, as_document(c), upsert=True) for c in customers.values()],
            ordered=False,
            session=session,
        )
    await models.summary.get_pymongo_collection().replace_one(
        {"_id": SUMMARY_ID}, as_document(summary), upsert=True, session=session
    )
