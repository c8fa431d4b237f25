"""Switching the active generation: in one transaction, the new generation
takes the entries the active one applied beyond it, the active one is sealed
(late batches on it fail and retry on the new one) and the pointer moves.
Live batches pause briefly meanwhile, so the switch does not keep losing
write conflicts to them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from .batch import Conflict, Delivery, Fetch, Gap, Sealed, mongo_errors_as_unavailable
from .documents import ACTIVE_ID
from .positions import later
from .projection import ProjectionError
from .store import ReadStore, now
from .transactions import run_transaction


async def switch(store: ReadStore, generation: str, fetch: Fetch | None = None) -> str | None:
    """Make `generation` the active one, in one transaction that also seals
    the active one. Entries the active one applied beyond `generation` are
    fetched (`fetch(partition, after, upto)`) and applied in that same
    transaction; without `fetch`, or when they cannot be applied, raises
    `Sealed` (catch up, then try again). Returns the replaced generation."""

    async def txn(session: AsyncClientSession) -> str | None:
        old = await store.active_generation(session)
        new_cp = await store.checkpoints.find_one({"_id": generation}, session=session)
        assert new_cp is not None, f"generation {generation} has no checkpoint"
        if old is not None and old != generation:
            old_cp = await store.checkpoints.find_one({"_id": old}, session=session) or {}
            await _catch_up(store, session, generation, new_cp, old_cp, fetch)
            await store.checkpoints.update_one(
                {"_id": old}, {"$set": {"sealed": True, "updated_at": now()}}, session=session
            )
        await store.pointer.update_one(
            {"_id": ACTIVE_ID},
            {
                "$set": {"generation": generation, "switched_at": now()},
                "$unset": {"pause_until": ""},
            },
            upsert=True,
            session=session,
        )
        return old

    try:
        with mongo_errors_as_unavailable():
            return await run_transaction(store.client, txn)
    except (Gap, ProjectionError, Conflict) as exc:
        raise Sealed(f"{generation} cannot catch up yet: {exc}") from exc


async def pause_projection(store: ReadStore, seconds: float) -> None:
    """Hold live batches back for at most `seconds`, so a switch does not
    keep losing write conflicts to them; switch ends the pause."""
    until = now() + timedelta(seconds=seconds)
    with mongo_errors_as_unavailable():
        await store.pointer.update_one({"_id": ACTIVE_ID}, {"$set": {"pause_until": until}})


async def resume_projection(store: ReadStore) -> None:
    with mongo_errors_as_unavailable():
        await store.pointer.update_one({"_id": ACTIVE_ID}, {"$unset": {"pause_until": ""}})


async def _catch_up(
    store: ReadStore,
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
        await store.apply_in_session(session, deliveries, generation, seen)
