"""The projector: consumes the partition logs through a Redis consumer group,
applies batches to the read models (one MongoDB transaction per batch with the
checkpoint) and acknowledges only after the commit. Entries left pending by a
dead consumer are claimed after `claim_idle_ms`; an entry whose handler fails
`max_attempts` times is parked as a dead letter, and later events of its
order are parked behind it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from redis.exceptions import ResponseError

from ..eventstore.codec import decode_event
from ..eventstore.connect import AnyRedis, is_cluster
from ..eventstore.per_partition import block_args, on_slot_of, read_each
from ..eventstore.redis_store import RedisEventStore
from ..metrics import PROJECTED_EVENTS
from .batch import Conflict
from .batchwrite import CHANGE_SLICES
from .deadletters import BLOCKED, describe
from .entries import Entry, entries_of
from .failures import is_infrastructure
from .filling import apply_filled
from .keys import ProjectorKeys
from .parking import Parking
from .positions import key as position_key
from .reclaim import Reclaimer
from .store import Delivery, ReadStore

log = logging.getLogger("orders_gql.projector")


@dataclass(frozen=True)
class ProjectorConfig:
    batch_size: int = 500
    block_ms: int = 1000
    claim_idle_ms: int = 10_000
    max_attempts: int = 5
    #: Batches after which one slice of the customers' changes is folded while
    #: the log is busy (see Projector._fold_slice).
    fold_every: int = 2
    #: How long the log must stay empty before a slice is folded as drained:
    #: under steady load it is empty for moments between batches, and a fold
    #: there would hold up the entries arriving just after.
    fold_idle_ms: int = 50


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Projector:
    def __init__(
        self,
        redis: AnyRedis,
        store: ReadStore,
        events: RedisEventStore,
        keys: ProjectorKeys,
        config: ProjectorConfig | None = None,
        consumer: str | None = None,
    ) -> None:
        self.redis = redis
        self.store = store
        self.events = events
        self.keys = keys
        self.config = config or ProjectorConfig()
        self.consumer = consumer or consumer_name()
        self.reclaimer = Reclaimer(
            redis, keys, store, self.consumer, self.config.claim_idle_ms, self.config.batch_size
        )
        self.parking = Parking(redis, keys, self.config.max_attempts)
        self._session: AsyncClientSession | None = None
        #: Nothing of ours is left pending: the last batch was all acknowledged
        #: or parked. Until then, each step first reads our own pending entries.
        self._clean = False
        self.started = False
        #: Changes may be left unfolded; at first too, so that changes a
        #: projector left when it stopped are folded once the log is drained.
        self._unfolded = True
        #: Batches applied since a slice was folded, the next slice to fold, and
        #: the slices folded since the log was last found drained.
        self._since_slice = 0
        self._next_slice = 0
        self._drained_slices = 0
        self._stop = asyncio.Event()

    async def start(self) -> None:
        """Create the consumer groups. While the active generation is not ready
        (the read models were empty), deliver the whole log again from the
        start, then mark it ready; safe to repeat after a crash."""
        models = await self.store.ensure_active()
        if self._session is None:
            self._session = self.store.client.start_session()
            await self.reclaimer.register(self._session.session_id)
        replay = not await self.store.is_ready(models.generation)
        for p in self.keys.partitions:
            try:
                await self.redis.xgroup_create(
                    self.keys.log(p), self.keys.group, "0", mkstream=True
                )
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
                if replay:
                    await self.redis.xgroup_setid(self.keys.log(p), self.keys.group, "0")
        if replay:
            await self.store.mark_ready(models.generation)
        self.started = True

    async def run(self, stop: asyncio.Event) -> None:
        """Project until `stop` is set; outages are waited out with a backoff."""
        delay = 0.1
        try:
            await self._run(stop, delay)
        finally:
            await self.close()

    async def fold_customers(self) -> None:
        """Fold every customers' change recorded so far (readside.customers)."""
        while await self.store.fold_customers():
            pass
        self._unfolded = False

    async def close(self) -> None:
        """Leave the group's bookkeeping tidy (best effort)."""
        session, self._session = self._session, None
        if session is None:
            return
        with contextlib.suppress(Exception):
            await session.end_session()
            await self.reclaimer.unregister()

    async def _run(self, stop: asyncio.Event, delay: float) -> None:
        self._stop = stop
        while not stop.is_set():
            try:
                await self.step()
                delay = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_infrastructure(exc):
                    log.warning("projector waits for its servers (%s: %s)", type(exc).__name__, exc)
                else:  # a defect: keep the process alive, the entries stay pending
                    log.exception("projector step failed; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, 5.0)

    async def step(self) -> int:
        """One round: own pending entries, else claimed ones, else new ones."""
        if not self.started:
            await self.start()
        try:
            return await self._step()
        except ResponseError as exc:
            if "NOGROUP" in str(exc):  # the log or group was deleted: create it again
                self.started = False
            raise

    async def _step(self) -> int:
        entries = [] if self._clean else await self._read("0", block=None)
        if not entries:
            entries = await self.reclaimer.claim()
        if not entries:  # waits less while changes are left to fold
            block = self.config.fold_idle_ms if self._unfolded else self.config.block_ms
            entries = await self._read_new(min(block, self.config.block_ms))
        if entries:
            await self.process(entries)
            if self._since_slice >= self.config.fold_every:
                await self._fold_slice()
        elif self._unfolded:
            await self._fold_slice()
            self._drained_slices += 1
            if self._drained_slices >= CHANGE_SLICES:  # each slice since drained
                with contextlib.suppress(Conflict):
                    await self.fold_customers()  # and what no slice holds
        return len(entries)

    async def _fold_slice(self) -> None:
        """Fold the customers' changes of the next slice, between batches: while
        the log is busy after every `fold_every` batches, and once it is
        drained (empty for `fold_idle_ms`) one slice per step, reading the log
        again after each. So a fold takes a sixteenth of the customers (it
        holds the next batch up for as long), and each customer's document
        the changes of many batches. A fold that another projector's races
        is left for the next turn."""
        slice_, self._since_slice = self._next_slice, 0
        self._next_slice = (slice_ + 1) % CHANGE_SLICES
        with contextlib.suppress(Conflict):
            await self.store.fold_customers(slice_=slice_)

    async def _read_new(self, block_ms: int) -> list[Entry]:
        """New entries, waiting up to `block_ms`; returns at once when stopping
        (no transaction is open here, so the read can be abandoned)."""
        if self._stop.is_set():
            return []
        read = asyncio.ensure_future(self._read(">", block=block_ms))
        stopping = asyncio.ensure_future(self._stop.wait())
        done, _ = await asyncio.wait({read, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if read in done:
            return read.result()
        read.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await read
        return []

    async def _read(self, start: str, block: int | None) -> list[Entry]:
        if is_cluster(self.redis):  # one command per partition (slot)
            found = await read_each(
                self.keys.partitions, lambda p, b: self._read_one(p, start, b), block
            )
            return [e for p in sorted(found) for e in found[p]]
        streams: Any = {self.keys.log(p): start for p in self.keys.partitions}
        reply: Any = await self.redis.xreadgroup(
            self.keys.group, self.consumer, streams, count=self.config.batch_size, block=block
        )
        partition_of = {self.keys.log(p).encode(): p for p in self.keys.partitions}
        entries: list[Entry] = []
        for stream, items in reply or []:
            entries += entries_of(partition_of[stream], items)
        return entries

    async def _read_one(self, partition: int, start: str, block: int | None) -> list[Entry]:
        log_key = self.keys.log(partition)
        reply: Any = await on_slot_of(
            self.redis, log_key, "XREADGROUP", "GROUP", self.keys.group, self.consumer,
            "COUNT", self.config.batch_size, *block_args(block), "STREAMS", log_key, start,
        )  # fmt: skip
        return entries_of(partition, reply[0][1]) if reply else []

    async def process(self, entries: list[Entry]) -> None:
        """Apply a batch; acknowledge what was committed, park what is dead."""
        self._clean = False
        done: list[Entry] = [e for e in entries if e.raw is None]  # trimmed from the log
        live = [e for e in entries if e.raw is not None]
        orders = [describe(e.raw or b"")[0] for e in live]
        blocked = await self.parking.blocked(live, orders)
        # Entries delivered again after they were parked (the group was reset to
        # the log's start, read models being rebuilt from scratch): their letters
        # stand; parking them again would add a copy waiting behind itself.
        parked = await self.parking.parked(
            [e for e, order_id in zip(live, orders, strict=True) if order_id in blocked]
        )
        todo: list[Entry] = []
        for e, order_id in zip(live, orders, strict=True):
            if (e.partition, e.position) in parked:
                done.append(e)  # acknowledged; `dead-letters retry` applies it
                continue
            behind = blocked.get(order_id)
            if (
                behind is not None
                and position_key(e.position) > position_key(behind)  # not one before it
                and await self.parking.park(
                    e, BLOCKED, f"waits behind {behind}", 0, only_if_blocked=True
                )
            ):
                continue  # parked behind its order's dead letter
            todo.append(e)  # also when a retry unblocked the order meanwhile
        decoded: list[tuple[Entry, Delivery]] = []
        failures: list[tuple[Entry, Exception]] = []
        for e in todo:
            try:
                decoded.append((e, Delivery(decode_event(e.raw or b""), e.position, e.partition)))
            except Exception as exc:
                failures.append((e, exc))
        try:
            await apply_filled(self.store, self.events, [d for _, d in decoded], **self._txn())
            done += [e for e, _ in decoded]
            self._unfolded = True
            self._since_slice += 1
            self._drained_slices = 0
        except Exception as exc:
            if is_infrastructure(exc):
                raise
            for e, d in decoded:  # find the poison: one entry at a time
                try:
                    await apply_filled(self.store, self.events, [d], **self._txn())
                    done.append(e)
                except Exception as single:
                    if is_infrastructure(single):
                        raise
                    failures.append((e, single))
        await self._ack(done)
        parked_at: dict[str, str] = {}
        retried = False
        for e, error in sorted(failures, key=lambda f: position_key(f[0].position)):
            order_id = describe(e.raw or b"")[0]
            if order_id in parked_at:
                await self.parking.park(e, BLOCKED, f"waits behind {parked_at[order_id]}", 0)
            elif await self.parking.failed(e, error):
                parked_at[order_id] = e.position
            else:
                retried = True  # stays pending: the next step reads it again
        self._clean = not retried

    def _txn(self) -> dict[str, Any]:
        return {"session": self._session, "on_conflict": self.reclaimer.reap}

    async def _ack(self, entries: list[Entry]) -> None:
        PROJECTED_EVENTS.inc(len(entries))
        pipe = self.redis.pipeline(transaction=False)
        for p in self.keys.partitions:
            ids = [e.position for e in entries if e.partition == p]
            if ids:
                pipe.xack(self.keys.log(p), self.keys.group, *ids)
                pipe.hdel(self.keys.attempts(p), *ids)
        await pipe.execute()
