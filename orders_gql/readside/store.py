"""The read store: applies batches of events to a generation of read models in
one MongoDB transaction each, together with the generation's checkpoint.

Every change is guarded by the order's version, so applying an event twice
changes nothing; a version gap raises `Gap` before anything is written, so the
caller can fetch the missing events from the order's stream and try again.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from beanie.odm.utils.encoder import Encoder
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
    OrderViewFields,
)
from .generations import Binder, ReadModels, new_generation_name
from .positions import later
from .projection import (
    Contribution,
    ProjectionError,
    apply_to_customer,
    apply_to_summary,
    name_key,
    project,
)
from .transactions import ConflictHook, run_transaction

_ENCODER = Encoder()


#: Reads the log entries of a partition in (after, upto], as deliveries.
Fetch = Callable[[int, str, str], Awaitable[list["Delivery"]]]


class ReadSideUnavailable(Exception):
    """MongoDB could not be reached or failed."""


class Gap(Exception):
    """Events are missing before the delivered ones; nothing was written."""

    def __init__(self, order_ids: set[str]) -> None:
        super().__init__(f"version gap in orders {sorted(order_ids)}")
        self.order_ids = order_ids


class Sealed(Exception):
    """The generation was replaced while the batch was being applied."""


class Paused(Exception):
    """Live projection waits while a rebuild switches generations."""


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


def _doc(model: Any) -> dict[str, Any]:
    encoded: dict[str, Any] = _ENCODER.encode(model)
    encoded.pop("revision_id", None)
    return encoded


class ReadStore:
    """MongoDB access of the read side; one per process and database."""

    def __init__(self, client: AsyncMongoClient[Any], db_name: str) -> None:
        self.client = client
        self.db = client[db_name]
        self.binder = Binder(self.db)
        self.pointer = self.db["readside"]
        self.checkpoints = self.db[Checkpoint.Settings.name]

    async def ping(self) -> None:
        try:
            await self.db.command("ping")
        except PyMongoError as exc:
            raise ReadSideUnavailable(str(exc)) from exc

    # -- generations -----------------------------------------------------

    async def active_generation(self, session: AsyncClientSession | None = None) -> str | None:
        doc = await self.pointer.find_one({"_id": ACTIVE_ID}, session=session)
        return str(doc["generation"]) if doc else None

    async def active(self) -> ReadModels | None:
        """The generation queries read, or None before the first projector ran."""
        try:
            generation = await self.active_generation()
            return None if generation is None else await self.binder.generation(generation)
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

    async def switch(self, generation: str, fetch: Fetch | None = None) -> str | None:
        """Make `generation` the active one, in one transaction that also seals
        the active one. Entries the active one applied beyond `generation` are
        fetched (`fetch(partition, after, upto)`) and applied in that same
        transaction; without `fetch`, or when they cannot be applied, raises
        `Sealed` (catch up, then try again). Returns the replaced generation."""

        async def txn(session: AsyncClientSession) -> str | None:
            old = await self.active_generation(session)
            new_cp = await self.checkpoints.find_one({"_id": generation}, session=session)
            assert new_cp is not None, f"generation {generation} has no checkpoint"
            if old is not None and old != generation:
                old_cp = await self.checkpoints.find_one({"_id": old}, session=session) or {}
                await self._catch_up(session, generation, new_cp, old_cp, fetch)
                await self.checkpoints.update_one(
                    {"_id": old}, {"$set": {"sealed": True, "updated_at": _now()}}, session=session
                )
            await self.pointer.update_one(
                {"_id": ACTIVE_ID},
                {
                    "$set": {"generation": generation, "switched_at": _now()},
                    "$unset": {"pause_until": ""},
                },
                upsert=True,
                session=session,
            )
            return old

        try:
            return await run_transaction(self.client, txn)
        except PyMongoError as exc:
            raise ReadSideUnavailable(str(exc)) from exc
        except (Gap, ProjectionError, Conflict) as exc:
            raise Sealed(f"{generation} cannot catch up yet: {exc}") from exc

    async def pause_projection(self, seconds: float) -> None:
        """Hold live batches back for at most `seconds`, so a switch does not
        keep losing write conflicts to them; `switch` ends the pause."""
        until = _now() + timedelta(seconds=seconds)
        try:
            await self.pointer.update_one({"_id": ACTIVE_ID}, {"$set": {"pause_until": until}})
        except PyMongoError as exc:
            raise ReadSideUnavailable(str(exc)) from exc

    async def resume_projection(self) -> None:
        try:
            await self.pointer.update_one({"_id": ACTIVE_ID}, {"$unset": {"pause_until": ""}})
        except PyMongoError as exc:
            raise ReadSideUnavailable(str(exc)) from exc

    async def _catch_up(
        self,
        session: AsyncClientSession,
        generation: str,
        new_cp: dict[str, Any],
        old_cp: dict[str, Any],
        fetch: Fetch | None,
    ) -> None:
        mine: dict[str, str] = dict(new_cp.get("positions", {}))
        deliveries: list[Delivery] = []
        seen: dict[int, str] = {}
        for partition, upto in old_cp.get("positions", {}).items():
            after = mine.get(partition, "0-0")
            if not later(upto, after):
                continue
            if fetch is None:
                raise Sealed(f"{generation} is behind in partition {partition}")
            deliveries += await fetch(int(partition), after, upto)
            seen[int(partition)] = upto
        if seen:
            await self._apply(session, deliveries, generation, seen)

    async def kill_sessions(self, session_ids: list[dict[str, Any]]) -> None:
        """Abort the open transactions of these (crashed) sessions now, instead
        of when the server reaps them; their write locks block every batch."""
        if session_ids:
            try:
                await self.client.admin.command("killSessions", session_ids)
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
        *,
        session: AsyncClientSession | None = None,
        on_conflict: ConflictHook | None = None,
    ) -> Outcome:
        """Apply events to `generation` (default: the active one) in one
        transaction with its checkpoint, which also moves past the `seen`
        positions (partition -> position) of entries skipped on purpose.
        Raises Gap, or ReadSideUnavailable (nothing applied); a ProjectionError
        means a poison event."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                return await run_transaction(
                    self.client,
                    lambda s: self._apply(s, deliveries, generation, seen or {}),
                    session=session,
                    on_conflict=on_conflict,
                )
            except Paused:
                await asyncio.sleep(0.01)  # a rebuild is switching generations
            except (Sealed, Conflict):
                if generation is not None:
                    raise
                # the active generation changed, or a racing writer: again
            except PyMongoError as exc:
                raise ReadSideUnavailable(str(exc)) from exc
        raise ReadSideUnavailable("the read models stayed busy for 30s")

    async def _apply(
        self,
        session: AsyncClientSession,
        deliveries: list[Delivery],
        generation: str | None,
        seen: dict[int, str],
    ) -> Outcome:
        gen = generation
        if gen is None:
            pointer = await self.pointer.find_one({"_id": ACTIVE_ID}, session=session)
            if pointer is None:
                raise Sealed("no active generation")
            pause = pointer.get("pause_until")
            if pause is not None and pause > _now():
                raise Paused()
            gen = str(pointer["generation"])
        models = await self.binder.generation(gen)
        checkpoint = await self.checkpoints.find_one({"_id": gen}, session=session)
        if checkpoint is None or checkpoint.get("sealed"):
            raise Sealed(gen)
        by_order: dict[str, list[Delivery]] = defaultdict(list)
        for d in deliveries:
            by_order[d.event.order_id].append(d)
        before = {
            v.id: v
            for v in await models.views.find(
                {"_id": {"$in": list(by_order)}}, session=session
            ).to_list()
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
                view = project(view, d.event, d.position, models.views)
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
        ops = [
            ReplaceOne(
                {"_id": oid, "version": before[oid].version if oid in before else 0},
                _doc(view),
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
