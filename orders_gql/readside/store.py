"""The read store: applies batches of events to a generation of read models in
one MongoDB transaction each, together with the generation's checkpoint.

Every change is guarded by the order's version, so applying an event twice
changes nothing; a version gap raises `Gap` before anything is written, so the
caller can fetch the missing events from the order's stream and try again.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pymongo
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError

from .batch import (
    Conflict,
    Delivery,
    Fetch,
    Gap,
    Outcome,
    Paused,
    ReadSideUnavailable,
    Sealed,
    mongo_errors_as_unavailable,
)
from .batchwrite import find_views, write_batch, write_customers
from .customers import FOLD_DOCUMENTS, fold
from .documents import (
    ACTIVE_ID,
    Checkpoint,
    CheckpointFields,
    OrderViewFields,
)
from .generations import Binder, ReadModels, new_generation_name
from .positions import later
from .projection import (
    CustomerChange,
    project,
)
from .transactions import ConflictHook, run_transaction

#: Seconds a query may go on reading the generation it last saw active
#: (a rebuild drops the generation it replaced only later, see rebuild).
ACTIVE_MAX_AGE = 0.5


class PersistentConflict(Exception):
    """A batch's guarded write kept conflicting: not a racing writer."""

    def __init__(self, conflict: Conflict, seconds: float) -> None:
        cause = conflict.__cause__
        details = getattr(cause, "details", None) or {}
        errors = details.get("writeErrors") or [{}]
        said = errors[0].get("errmsg") or (str(cause) if cause else "")
        super().__init__(f"{conflict} for {seconds:g}s" + (f": {said}" if said else ""))


class ReadStore:
    """MongoDB access of the read side; one per process and database."""

    def __init__(
        self, client: AsyncMongoClient[Any], db_name: str, reinsert: bool | None = None
    ) -> None:
        self.client = client
        self.db = client[db_name]
        self.binder = Binder(self.db, reinsert)
        self.pointer = self.db["readside"]
        self.checkpoints = self.db[Checkpoint.Settings.name]
        self._active: str | None = None
        self._active_at = 0.0
        #: Seconds a batch's write may keep conflicting before it is a failure.
        self.conflict_patience = 10.0

    async def ping(self) -> None:
        """Raises ReadSideUnavailable when MongoDB does not answer within the
        client's server selection timeout (`ORDERS_MONGODB_TIMEOUT_MS`), also
        when a server it is connected to hangs (a connection's own read would
        wait for pymongo's heartbeat to give up on it, about 20 s)."""
        timeout = self.client.options.server_selection_timeout
        with mongo_errors_as_unavailable(), pymongo.timeout(timeout):
            await self.db.command("ping")

    # -- generations -----------------------------------------------------

    async def active_generation(self, session: AsyncClientSession | None = None) -> str | None:
        doc = await self.pointer.find_one({"_id": ACTIVE_ID}, session=session)
        return str(doc["generation"]) if doc else None

    async def active(self, fresh: bool = False) -> ReadModels | None:
        """The generation queries read, or None before the first projector ran.

        The pointer is read again after ACTIVE_MAX_AGE seconds, or when `fresh`
        (a read that waited for a position must see the generation that
        position was applied to): else every query costs two round trips."""
        now_ = time.monotonic()
        if not fresh and self._active is not None and now_ - self._active_at < ACTIVE_MAX_AGE:
            return await self.binder.generation(self._active)
        with mongo_errors_as_unavailable():
            generation = await self.active_generation()
            if generation is None:
                return None
            self._active, self._active_at = generation, now_
            return await self.binder.generation(generation)

    async def create_generation(
        self, generation: str | None = None, *, ready: bool = True
    ) -> ReadModels:
        """Empty collections (with indexes) and a checkpoint for a new generation.
        Not `ready` means the projectors must still replay the log into it."""
        generation = generation or new_generation_name()
        models = await self.binder.generation(generation)
        fresh = {"positions": {}, "applied": 0, "sealed": False, "ready": ready}
        await self.checkpoints.update_one({"_id": generation}, {"$setOnInsert": fresh}, upsert=True)
        return models

    async def is_ready(self, generation: str | None = None) -> bool:
        """False while the (active) generation still waits for its first replay."""
        with mongo_errors_as_unavailable():
            generation = generation or await self.active_generation()
            if generation is None:
                return False
            doc = await self.checkpoints.find_one({"_id": generation}, {"ready": 1})
        return doc is not None and bool(doc.get("ready", True))

    async def mark_ready(self, generation: str) -> None:
        await self.checkpoints.update_one({"_id": generation}, {"$set": {"ready": True}})

    async def ensure_active(self) -> ReadModels:
        """The active generation, creating the first one (not ready) when there
        is none: the read models are new or were wiped."""
        current = await self.active_generation()
        if current is not None:
            return await self.binder.generation(current)
        models = await self.create_generation(ready=False)
        result = await self.pointer.update_one(
            {"_id": ACTIVE_ID},
            {"$setOnInsert": {"generation": models.generation, "switched_at": now()}},
            upsert=True,
        )
        if result.upserted_id is None:  # another process was first
            await self.drop_generation(models.generation)
            current = await self.active_generation()
            assert current is not None
            return await self.binder.generation(current)
        return models

    async def checkpoint(self, generation: str) -> CheckpointFields | None:
        doc = await self.checkpoints.find_one({"_id": generation})
        return CheckpointFields.model_validate(doc) if doc else None

    async def kill_sessions(self, session_ids: list[dict[str, Any]]) -> None:
        """Abort the open transactions of these (crashed) sessions now, instead
        of when the server reaps them; their write locks block every batch."""
        if session_ids:
            with mongo_errors_as_unavailable():
                await self.client.admin.command("killSessions", session_ids)

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
        defer_customers: bool = False,
    ) -> Outcome:
        """Apply events to `generation` (default: the active one) in one
        transaction with its checkpoint, which also moves past the `seen`
        positions (partition -> position) of entries skipped on purpose.
        Raises Gap, or ReadSideUnavailable (nothing applied); a ProjectionError
        means a poison event. With `defer_customers` (a rebuild's generation,
        which nothing reads or writes before it is switched to) the customers'
        documents are not written: `Outcome.customers` holds their changes,
        for `write_customers`."""
        deadline = time.monotonic() + 30
        conflicting_since: float | None = None
        read_all = False
        while time.monotonic() < deadline:
            try:
                return await run_transaction(
                    self.client,
                    functools.partial(
                        self.apply_in_session,
                        deliveries=deliveries,
                        generation=generation,
                        seen=seen or {},
                        defer_customers=defer_customers,
                        read_all=read_all,
                    ),
                    session=session,
                    on_conflict=on_conflict,
                )
            except Paused:
                await asyncio.sleep(0.01)  # a rebuild is switching generations
            except (Sealed, Conflict) as exc:
                if isinstance(exc, Conflict) and not read_all:
                    read_all = True  # a view taken for new was there: again, reading each
                    continue
                if generation is not None:
                    raise
                # the active generation changed, or a racing writer: again. The
                # same write refused for longer is the data's doing (a unique
                # index added by hand, say): a failure of these events, which the
                # projector parks after its attempts, instead of an outage that
                # stalls every order.
                now = time.monotonic()
                conflicting_since = conflicting_since or now
                if isinstance(exc, Conflict) and now - conflicting_since > self.conflict_patience:
                    raise PersistentConflict(exc, self.conflict_patience) from exc
            except PyMongoError as exc:
                raise ReadSideUnavailable(str(exc)) from exc
        raise ReadSideUnavailable("the read models stayed busy for 30s")

    async def write_customers(
        self, generation: str, changes: dict[str, CustomerChange], chunk: int = 500
    ) -> None:
        """Write the customers' changes a rebuild deferred, `chunk` customers
        per transaction. Only for a generation nothing else writes yet."""
        models = await self.binder.generation(generation)
        emails = sorted(changes)
        for start in range(0, len(emails), chunk):
            part = {e: changes[e] for e in emails[start : start + chunk]}
            write = functools.partial(write_customers, models=models, changes=part)
            with mongo_errors_as_unavailable():
                await run_transaction(self.client, write)

    async def fold_customers(self, limit: int = FOLD_DOCUMENTS, slice_: int | None = None) -> int:
        """Fold up to `limit` documents of unfolded customers' changes of the
        active generation (of one slice of the customers, or of any) into the
        customers' documents, in one transaction; returns how many (0: none
        left). Conflict: another folder took some."""
        models = await self.active()
        if models is None:
            return 0
        with mongo_errors_as_unavailable():
            return await run_transaction(
                self.client, functools.partial(fold, models=models, limit=limit, slice_=slice_)
            )

    async def apply_in_session(
        self,
        session: AsyncClientSession,
        deliveries: list[Delivery],
        generation: str | None,
        seen: dict[int, str],
        *,
        defer_customers: bool = False,
        read_all: bool = True,
    ) -> Outcome:
        """Apply `deliveries` in `session`'s transaction (see apply). Unless
        `read_all`, the views of orders whose first event here is their
        creation are not read: they have none, unless these events come again
        (redelivered after a crash before their acknowledgement, or applied
        meanwhile by a racing projector); then inserting the view raises
        Conflict, and the caller applies the batch again reading every view."""
        gen = generation
        if gen is None:
            pointer = await self.pointer.find_one({"_id": ACTIVE_ID}, session=session)
            if pointer is None:
                raise Sealed("no active generation")
            pause = pointer.get("pause_until")
            if pause is not None and pause > now():
                raise Paused()
            gen = str(pointer["generation"])
        models = await self.binder.generation(gen)
        checkpoint = await self.checkpoints.find_one({"_id": gen}, session=session)
        if checkpoint is None or checkpoint.get("sealed"):
            raise Sealed(gen)
        by_order: dict[str, list[Delivery]] = defaultdict(list)
        for d in deliveries:
            by_order[d.event.order_id].append(d)
        unseen = set() if read_all else {o for o, ds in by_order.items() if _created_here(ds)}
        stored = await find_views(models.views, [o for o in by_order if o not in unseen], session)
        before = stored.lean
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
                view = project(view, d.event, d.position)
                version = view.version
                outcome.applied += 1
            if view is not None and view is not before.get(order_id):
                after[order_id] = view
        if gaps:
            raise Gap(gaps)
        if after:
            customers = await write_batch(
                session, models, stored, after, defer_customers=defer_customers
            )
            if defer_customers:
                outcome.customers = customers
        marks = [(d.partition, d.position) for d in deliveries] + list(seen.items())
        await self._advance(session, gen, checkpoint, marks, outcome.applied)
        outcome.orders = set(after)
        return outcome

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
            {"$set": {"positions": positions, "updated_at": now()}, "$inc": {"applied": applied}},
            session=session,
        )
        if result.matched_count != 1:
            raise Sealed(gen)


def _created_here(deliveries: list[Delivery]) -> bool:
    """Whether these events of one order start with its creation (version 1)."""
    return min(d.event.version for d in deliveries) == 1


def now() -> datetime:
    return datetime.now(UTC)


__all__ = [
    "Conflict",
    "Delivery",
    "Fetch",
    "Gap",
    "Outcome",
    "Paused",
    "ReadSideUnavailable",
    "ReadStore",
    "Sealed",
    "now",
]
