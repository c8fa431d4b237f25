"""Zero-downtime rebuild: replay the whole log into a new generation of read
models while queries keep reading the active one, catch up with what arrives
meanwhile, then switch the pointer in one transaction (it refuses while the
new generation is behind the active one, so nothing acknowledged is lost)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..eventstore.codec import decode_event
from ..eventstore.redis_store import RedisEventStore
from . import switching
from .deadletters import describe
from .failures import is_infrastructure
from .keys import ProjectorKeys
from .projection import CustomerChange
from .store import Delivery, Outcome, ReadStore, Sealed

log = logging.getLogger("orders_gql.rebuild")

Progress = Callable[[int, int], None]
#: Longest time live projection waits for a switch (which normally takes milliseconds).
PAUSE_SECONDS = 5.0
#: Customers whose changes a rebuild gathers before it writes their documents
#: (under 1 KB each: about 40 MB at the window, measured with tracemalloc).
CUSTOMERS_WINDOW = 50_000


@dataclass
class RebuildResult:
    generation: str
    replaced: str | None
    events: int = 0
    applied: int = 0
    skipped: list[str] = field(default_factory=list)  # positions of poison / blocked entries


async def _log_length(redis: Any, keys: ProjectorKeys) -> int:
    return sum([int(await redis.xlen(keys.log(p))) for p in keys.partitions])


async def rebuild(
    store: ReadStore,
    events: RedisEventStore,
    keys: ProjectorKeys,
    *,
    batch_size: int = 500,
    switch: bool = True,
    drop_after: float = 2.0,
    progress: Progress | None = None,
    customers_window: int = CUSTOMERS_WINDOW,
) -> RebuildResult:
    """Replay every event into a new generation; switch to it when `switch`.

    The customers' documents are written once per `customers_window`
    customers gathered (and before the switch), not once per batch: a
    customer's changes add up, and nothing reads the new generation before
    the switch. (Per batch, on SecantusDB, they were about half of a
    replay's time: 100,000 orders of 20,000 customers rewrote a customer
    for nearly every order.)"""
    redis = events.redis
    models = await store.create_generation()
    result = RebuildResult(models.generation, None)
    positions = {p: "0-0" for p in keys.partitions}
    blocked: set[str] = set()
    customers: dict[str, CustomerChange] = {}

    async def write_customers() -> None:
        await store.write_customers(models.generation, customers)
        customers.clear()

    async def fetch(partition: int, after: str, upto: str) -> list[Delivery]:
        """Entries the live projectors applied after our last batch. Counted
        once the switch committed, as its last attempt fetched them (its
        transaction may run again)."""
        entries: Any = await redis.xrange(keys.log(partition), f"({after}", upto)
        found = [Delivery(decode_event(f[b"e"]), i.decode(), partition) for i, f in entries]
        kept = [d for d in found if d.event.order_id not in blocked]
        skipped = [d.position for d in found if d.event.order_id in blocked]
        at_switch[partition] = (len(found), len(kept), skipped)
        return kept

    #: Partition -> (events, applied, skipped positions) of the switch's last fetch.
    at_switch: dict[int, tuple[int, int, list[str]]] = {}

    while True:
        moved = False
        for p in keys.partitions:
            start = "-" if positions[p] == "0-0" else f"({positions[p]}"
            entries: Any = await redis.xrange(keys.log(p), start, "+", count=batch_size)
            if not entries:
                continue
            moved = moved or len(entries) == batch_size  # more may be waiting
            await _replay_batch(store, models.generation, p, entries, blocked, result, customers)
            positions[p] = entries[-1][0].decode()
            if len(customers) >= customers_window:
                await write_customers()
            if progress:
                progress(result.events, max(result.events, await _log_length(redis, keys)))
        if moved:
            continue  # near the end of the log: try to switch (it applies the rest)
        # Complete before it can be switched to: the switch's own catch-up
        # writes customers' documents as live projection does.
        await write_customers()
        if not switch:
            break
        await switching.pause_projection(store, PAUSE_SECONDS)
        try:
            result.replaced = await switching.switch(store, models.generation, fetch)
            for fetched, applied, skipped in at_switch.values():  # the switch's count too
                result.events += fetched
                result.applied += applied
                result.skipped += skipped
            break
        except Sealed:
            at_switch.clear()
            await switching.resume_projection(store)
            continue  # the live projectors are ahead: catch up again
    if result.replaced is not None and drop_after >= 0:
        # queries and batches that began on the old generation finish first
        await asyncio.sleep(drop_after)
        try:
            await asyncio.wait_for(store.drop_generation(result.replaced), 30)
        except TimeoutError:
            log.warning("old generation %s is still busy; drop it later", result.replaced)
    return result


async def _replay_batch(
    store: ReadStore,
    generation: str,
    partition: int,
    entries: list[tuple[bytes, dict[bytes, bytes]]],
    blocked: set[str],
    result: RebuildResult,
    customers: dict[str, CustomerChange],
) -> None:
    """Apply a batch of log entries (isolating a poison one); the customers'
    changes of what was applied are added to `customers`, unwritten."""

    def gather(outcome: Outcome) -> None:
        result.applied += outcome.applied
        for email, change in outcome.customers.items():
            customers.setdefault(email, CustomerChange()).add(change)

    deliveries: list[Delivery] = []
    for entry_id, fields in entries:
        position = entry_id.decode()
        result.events += 1
        try:
            event = decode_event(fields[b"e"])
        except Exception as exc:
            blocked.add(describe(fields[b"e"])[0])
            _skip(result, position, exc)
            continue
        if event.order_id in blocked:
            result.skipped.append(position)
            continue
        deliveries.append(Delivery(event, position, partition))
    seen = {partition: entries[-1][0].decode()}
    try:
        gather(await store.apply(deliveries, generation, seen, defer_customers=True))
        return
    except Exception as exc:
        if is_infrastructure(exc):
            raise
    for d in deliveries:  # isolate the poison; its order's later events are skipped
        if d.event.order_id in blocked:
            result.skipped.append(d.position)
            continue
        try:
            gather(await store.apply([d], generation, defer_customers=True))
        except Exception as exc:
            if is_infrastructure(exc):
                raise
            blocked.add(d.event.order_id)
            _skip(result, d.position, exc)
    await store.apply([], generation, seen)


def _skip(result: RebuildResult, position: str, exc: Exception) -> None:
    log.warning("rebuild skips %s: %s: %s", position, type(exc).__name__, exc)
    result.skipped.append(position)
