"""The read store: applies batches of events to a generation of read models in
one MongoDB transaction each, together with the generation's checkpoint.

Every change is guarded by the order's version, so applying an event twice
changes nothing; a version gap raises `Gap` before anything is written, so the
caller can fetch the missing events from the order's stream and try again.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from bson import Decimal128
from pydantic import BaseModel
from pymongo import AsyncMongoClient, ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError

from ..domain.events import DomainEvent
from .documents import (
    ACTIVE_ID,
    SUMMARY_ID,
    Checkpoint,
    CheckpointFields,
    CustomerStatsFields,
    OrderSummaryFields,
    OrderViewFields,
)
from .generations import Binder, ReadModels, new_generation_name
from .positions import later
from .projection import Contribution, apply_to_customer, apply_to_summary, name_key, project

_Model = TypeVar("_Model", bound=BaseModel)

#: Seconds a query may go on reading the generation it last saw active
#: (rebuild's drop_after, 2 s, leaves them time to move on).
ACTIVE_MAX_AGE = 0.5


class ReadSideUnavailable(Exception):
    """MongoDB could not be reached or failed."""


class Gap(Exception):
    """Events are missing before the delivered ones; nothing was written."""

    def __init__(self, order_ids: set[str]) -> None:
        super().__init__(f"version gap in orders {sorted(order_ids)}")
        self.order_ids = order_ids


class Sealed(Exception):
    """The generation was replaced while the batch was being applied."""


class Conflict(Exception):
    """A guarded write did not match: someone else changed the order first."""


@dataclass(frozen=True)
class Delivery:
    """One event to apply, with its log position and partition."""

    event: DomainEvent
    position: str
    partition: int = 0


@dataclass
class Outcome:
    generation: str
    applied: int = 0
    skipped: int = 0
    orders: set[str] = field(default_factory=set)


def _doc(model: BaseModel) -> dict[str, Any]:
    """The BSON document of a read model: pydantic's dump with the Decimals as
    Decimal128, as Beanie stores them (its generic encoder cost a third of the
    projector's CPU)."""
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


class ReadStore:
    """MongoDB access of the read side; one per process and database."""

    def __init__(self, client: AsyncMongoClient[Any], db_name: str) -> None:
        self.client = client
        self.db = client[db_name]
        self.binder = Binder(self.db)
        self.pointer = self.db["readside"]
        self.checkpoints = self.db[Checkpoint.Settings.name]
        self._active: str | None = None
        self._active_at = 0.0

    async def ping(self) -> None:
        try:
            await self.db.command("ping")
        except PyMongoError as exc:
            raise ReadSideUnavailable(str(exc)) from exc

    # -- generations -----------------------------------------------------

    async def active_generation(self, session: AsyncClientSession | None = None) -> str | None:
        doc = await self.pointer.find_one({"_id": ACTIVE_ID}, session=session)
        return str(doc["generation"]) if doc else None

    async def active(self, fresh: bool = False) -> ReadModels | None:
        """The generation queries read, or None before the first projector ran.

        The pointer is read again after ACTIVE_MAX_AGE seconds, or when `fresh`
        (a read that waited for a position must see the generation that
        position was applied to): else a query would cost two MongoDB round
        trips. A rebuild drops the generation it replaced only later."""
        now = time.monotonic()
        if not fresh and self._active is not None and now - self._active_at < ACTIVE_MAX_AGE:
            return await self.binder.generation(self._active)
        try:
            generation = await self.active_generation()
            if generation is None:
                return None
            self._active, self._active_at = generation, now
            return await self.binder.generation(generation)
        except PyMongoError as exc:
            raise ReadSideUnavailable(str(exc)) from exc

    async def create_generation(self, generation: str | None = None) -> ReadModels:
        """Empty collections (with indexes) and a checkpoint for a new generation."""
        generation = generation or new_generation_name()
        models = await self.binder.generation(generation)
        await self.checkpoints.update_one(
            {"_id": generation},
            {"$setOnInsert": {"positions": {}, "applied": 0, "sealed": False}},
            upsert=True,
        )
        return models

    async def ensure_active(self) -> tuple[ReadModels, bool]:
        """The active generation, creating the first one when there is none.
        The second value is True when this call created it (read models empty)."""
        current = await self.active_generation()
        if current is not None:
            return await self.binder.generation(current), False
        models = await self.create_generation()
        result = await self.pointer.update_one(
            {"_id": ACTIVE_ID},
            {"$setOnInsert": {"generation": models.generation, "switched_at": _now()}},
            upsert=True,
        )
        if result.upserted_id is None:  # another process was first
            await self.drop_generation(models.generation)
            current = await self.active_generation()
            assert current is not None
            return await self.binder.generation(current), False
        return models, True

    async def checkpoint(self, generation: str) -> CheckpointFields | None:
        doc = await self.checkpoints.find_one({"_id": generation})
        return CheckpointFields.model_validate(doc) if doc else None

    async def switch(self, generation: str) -> str | None:
        """Make `generation` the active one, if it has applied at least every
        position the active one has. Returns the replaced generation; raises
        `Sealed` when the new one is behind (catch up, then try again)."""

        async def txn(session: AsyncClientSession) -> str | None:
            old = await self.active_generation(session)
            new_cp = await self.checkpoints.find_one({"_id": generation}, session=session)
            assert new_cp is not None, f"generation {generation} has no checkpoint"
            if old is not None:
                old_cp = await self.checkpoints.find_one({"_id": old}, session=session)
                mine = dict(new_cp.get("positions", {}))
                for partition, pos in (old_cp or {}).get("positions", {}).items():
                    if later(pos, mine.get(partition, "0-0")):
                        raise Sealed(f"{generation} is behind {old} in partition {partition}")
                await self.checkpoints.update_one(
                    {"_id": old}, {"$set": {"sealed": True, "updated_at": _now()}}, session=session
                )
            await self.pointer.update_one(
                {"_id": ACTIVE_ID},
                {"$set": {"generation": generation, "switched_at": _now()}},
                upsert=True,
                session=session,
            )
            return old

        try:
            async with self.client.start_session() as session:
                return await session.with_transaction(txn)
        except PyMongoError as exc:
            raise ReadSideUnavailable(str(exc)) from exc

    async def drop_generation(self, generation: str) -> None:
        models = await self.binder.generation(generation)
        for name in models.collection_names():
            await self.db.drop_collection(name)
        await self.checkpoints.delete_one({"_id": generation})

    # -- applying events -------------------------------------------------

    async def apply(
        self,
        deliveries: list[Delivery],
        generation: str | None = None,
        seen: dict[int, str] | None = None,
    ) -> Outcome:
        """Apply events to `generation` (default: the active one) in one
        transaction with its checkpoint, which also moves past the `seen`
        positions (partition -> position) of entries skipped on purpose.
        Raises Gap, or ReadSideUnavailable (nothing applied); a ProjectionError
        means a poison event."""
        for _ in range(20):
            try:
                async with self.client.start_session() as session:
                    return await session.with_transaction(
                        lambda s: self._apply(s, deliveries, generation, seen or {})
                    )
            except (Sealed, Conflict):
                if generation is not None:
                    raise
                continue  # the active generation changed, or a racing writer: again
            except PyMongoError as exc:
                raise ReadSideUnavailable(str(exc)) from exc
        raise ReadSideUnavailable("too many conflicting writers")

    async def _apply(
        self,
        session: AsyncClientSession,
        deliveries: list[Delivery],
        generation: str | None,
        seen: dict[int, str],
    ) -> Outcome:
        gen = generation or await self.active_generation(session)
        if gen is None:
            raise Sealed("no active generation")
        models = await self.binder.generation(gen)
        checkpoint = await self.checkpoints.find_one({"_id": gen}, session=session)
        if checkpoint is None or checkpoint.get("sealed"):
            raise Sealed(gen)
        by_order: dict[str, list[Delivery]] = defaultdict(list)
        for d in deliveries:
            by_order[d.event.order_id].append(d)
        before: dict[str, OrderViewFields] = {
            v.id: v
            for v in await _find_by_ids(models.views, OrderViewFields, list(by_order), session)
        }
        outcome = Outcome(gen)
        after: dict[str, OrderViewFields] = {}
        gaps: set[str] = set()
        for order_id, items in by_order.items():
            view = before.get(order_id)
            version = view.version if view else 0
            for d in sorted(items, key=lambda d: d.event.version):
                if d.event.version <= version:
                    outcome.skipped += 1
                    continue
                if d.event.version > version + 1:
                    gaps.add(order_id)
                    break
                view = project(view, d.event, d.position, OrderViewFields)
                version = view.version
                outcome.applied += 1
            if view is not None and view is not before.get(order_id):
                after[order_id] = view
        if gaps:
            raise Gap(gaps)
        if after:
            await self._write(session, models, before, after)
        marks = [(d.partition, d.position) for d in deliveries] + list(seen.items())
        await self._advance(session, gen, checkpoint, marks, outcome.applied)
        outcome.orders = set(after)
        return outcome

    async def _write(
        self,
        session: AsyncClientSession,
        models: ReadModels,
        before: dict[str, OrderViewFields],
        after: dict[str, OrderViewFields],
    ) -> None:
        # Filtered on _id alone: `before` was read in this transaction, and a
        # transaction that writes a document changed since its snapshot aborts
        # with a WriteConflict (and is retried), so the version it was read at
        # still guards the write. (A filter with a second field costs SecantusDB
        # a query plan per document; _id alone is a point lookup.)
        ops = [
            ReplaceOne({"_id": oid}, _doc(view), upsert=oid not in before)
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
        changes = [(oid, view, Contribution.of(before.get(oid)), Contribution.of(view))
                   for oid, view in after.items()]  # fmt: skip
        # A customer's document changes only with a new order (its name may be
        # the newest) or when an order's count or revenue share changes; a
        # plain status change touches the summary alone.
        touched = [
            (oid, view, old, new)
            for oid, view, old, new in changes
            if oid not in before or _share(old) != _share(new)
        ]
        emails = sorted({view.customer_email for _, view, _, _ in touched})
        customers = {
            c.id: c
            for c in await _find_by_ids(models.customers, CustomerStatsFields, emails, session)
        }
        for _, _, old, new in changes:
            for contribution, sign in ((old, -1), (new, 1)):
                if contribution is not None:
                    apply_to_summary(summary, contribution, sign)
        for _, view, old, new in touched:
            customer = customers.get(view.customer_email)
            if customer is None:
                customer = customers[view.customer_email] = CustomerStatsFields.model_validate(
                    {
                        "_id": view.customer_email,
                        "customer_name": view.customer_name,
                        "name_key": "",
                    }
                )
            if name_key(view) > customer.name_key:
                customer.customer_name, customer.name_key = view.customer_name, name_key(view)
            for contribution, sign in ((old, -1), (new, 1)):
                if contribution is not None:
                    apply_to_customer(customer, contribution, sign)
        if customers:
            await models.customers.get_pymongo_collection().bulk_write(
                [ReplaceOne({"_id": c.id}, _doc(c), upsert=True) for c in customers.values()],
                ordered=False,
                session=session,
            )
        await models.summary.get_pymongo_collection().replace_one(
            {"_id": SUMMARY_ID}, _doc(summary), upsert=True, session=session
        )

    async def _advance(
        self,
        session: AsyncClientSession,
        gen: str,
        current: dict[str, Any],
        marks: list[tuple[int, str]],
        applied: int,
    ) -> None:
        positions: dict[str, str] = dict(current.get("positions", {}))
        for partition, position in marks:
            if later(position, positions.get(str(partition), "0-0")):
                positions[str(partition)] = position
        result = await self.checkpoints.update_one(
            {"_id": gen, "sealed": {"$ne": True}},
            {"$set": {"positions": positions, "updated_at": _now()}, "$inc": {"applied": applied}},
            session=session,
        )
        if result.matched_count != 1:
            raise Sealed(gen)


#: Ids per `$in` lookup. SecantusDB matches each candidate against the
#: whole `$in` list, so one lookup of n ids costs n^2; chunks keep it linear.
IN_CHUNK = 100


async def _find_by_ids(
    document: Any, model: type[_Model], ids: list[str], session: AsyncClientSession
) -> list[_Model]:
    """Documents by id, validated as the plain pydantic `model` (lighter than
    Beanie's Document)."""
    collection = document.get_pymongo_collection()
    found: list[_Model] = []
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        async for raw in collection.find({"_id": {"$in": chunk}}, session=session):
            found.append(model.model_validate(raw))
    return found


def _share(c: Contribution | None) -> tuple[int, int]:
    """What an order adds to its customer's document."""
    return (0, 0) if c is None else (c.orders, c.revenue_cents)


def _now() -> datetime:
    return datetime.now(UTC)


__all__ = [
    "CustomerStatsFields",
    "Delivery",
    "Gap",
    "Outcome",
    "ReadSideUnavailable",
    "ReadStore",
    "Sealed",
]
