"""The MongoDB writes of one batch: order views guarded by their version,
then the customers' and the summary's figures moved by each order's change of
contribution (see projection). Runs inside the batch's transaction."""

from __future__ import annotations

from typing import Any

from beanie.odm.utils.encoder import Encoder
from pymongo import ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession

from .batch import Conflict
from .documents import SUMMARY_ID, OrderViewFields
from .generations import ReadModels
from .projection import Contribution, apply_to_customer, apply_to_summary, name_key

_ENCODER = Encoder()


def as_document(model: Any) -> dict[str, Any]:
    encoded: dict[str, Any] = _ENCODER.encode(model)
    encoded.pop("revision_id", None)
    return encoded


async def write_batch(
    session: AsyncClientSession,
    models: ReadModels,
    before: dict[str, OrderViewFields],
    after: dict[str, OrderViewFields],
) -> None:
    ops = [
        ReplaceOne(
            {"_id": oid, "version": before[oid].version if oid in before else 0},
            as_document(view),
            upsert=oid not in before,
        )
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
    summary = models.summary.model_validate(summary_doc or {})
    emails = {v.customer_email for v in after.values()}
    customers = {
        c.id: c
        for c in await models.customers.find(
            {"_id": {"$in": list(emails)}}, session=session
        ).to_list()
    }
    for oid, view in after.items():
        old, new = Contribution.of(before.get(oid)), Contribution.of(view)
        customer = customers.get(view.customer_email)
        if customer is None:
            customer = customers[view.customer_email] = models.customers(
                id=view.customer_email, customer_name=view.customer_name, name_key=""
            )
        if name_key(view) > customer.name_key:
            customer.customer_name, customer.name_key = view.customer_name, name_key(view)
        for contribution, sign in ((old, -1), (new, 1)):
            if contribution is not None:
                apply_to_summary(summary, contribution, sign)
                apply_to_customer(customer, contribution, sign)
    await models.customers.get_pymongo_collection().bulk_write(
        [ReplaceOne({"_id": c.id}, as_document(c), upsert=True) for c in customers.values()],
        ordered=False,
        session=session,
    )
    await models.summary.get_pymongo_collection().replace_one(
        {"_id": SUMMARY_ID}, as_document(summary), upsert=True, session=session
    )
