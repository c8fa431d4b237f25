"""Write-side scenarios: the event store's append rate against a bare Lua
XADD, and createOrder / updateOrderStatus over HTTP against `{ __typename }`."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from redis.asyncio import Redis

from orders_gql.domain.commands import CreateOrder, ItemInput, Metadata
from orders_gql.domain.events import DomainEvent
from orders_gql.domain.model import Order, decide
from orders_gql.eventstore.codec import encode_event
from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.redis_store import RedisEventStore

from .harness import Row, Servers, api_server, projector_process
from .loadgen import LoadResult, merged, run_load
from .seed import components, seed_orders

ITEM = {"productId": "sku-1", "productName": "Notebook", "quantity": 2, "price": "19.99"}
CREATE = (
    "mutation($input: CreateOrderInput!) { createOrder(input: $input) "
    "{ __typename ... on OrderPayload { position order { orderId version status } } } }"
)
UPDATE = (
    "mutation($id: ID!, $s: OrderStatus!) { updateOrderStatus(orderId: $id, status: $s) "
    "{ __typename ... on OrderPayload { position order { version status } } } }"
)
TYPENAME = {"query": "{ __typename }"}


def create_body(n: int) -> dict[str, object]:
    return {
        "query": CREATE,
        "variables": {
            "input": {
                "customerName": f"Customer {n % 500}",
                "customerEmail": f"c{n % 500}@example.com",
                "items": [ITEM, {**ITEM, "productId": f"sku-{n % 50}", "quantity": 1}],
            }
        },
    }


async def _append_rates(
    url: str, seconds: float, concurrency: int = 16, rounds: int = 6
) -> tuple[float, float]:
    """Both sides append the same event payload from `concurrency` tasks; ours
    through RedisEventStore.append (version check, order stream + log)."""
    redis = Redis.from_url(url)
    store = RedisEventStore(redis, KeySpace(prefix=f"b{uuid.uuid4().hex[:6]}"))
    item = ItemInput("sku-1", "Notebook", 2, Decimal("19.99"))
    command = CreateOrder("template", "Ada Lovelace", "ada@example.com", (item, item))
    (template,) = decide(
        Order("template"), command, now=datetime.now(UTC), metadata=Metadata("c", "r")
    )
    payload = encode_event(template)
    bare = redis.register_script("return redis.call('XADD', KEYS[1], '*', 'e', ARGV[1])")

    async def run_bare(seconds: float) -> int:
        done = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await bare(keys=["bench:{p0}:bare"], args=[payload])
            done += 1
        return done

    order_ids = [uuid.uuid4().hex for _ in range(concurrency)]
    versions = dict.fromkeys(order_ids, 0)
    # Each order's next events, made before a round: making an event is the
    # domain's work, not the store's (the bare side's payload is made once).
    ahead: dict[str, list[DomainEvent]] = {}

    def make_ahead(count: int) -> None:
        for order_id in order_ids:
            first = versions[order_id] + 1
            ahead[order_id] = [
                replace(template, order_id=order_id, version=v)
                for v in range(first + count - 1, first - 1, -1)
            ]  # popped from the end: lowest version first

    async def run_store(order_id: str, seconds: float) -> int:
        done = 0
        deadline = time.monotonic() + seconds
        events = ahead[order_id]
        while time.monotonic() < deadline:
            version = versions[order_id]
            event = (
                events.pop()
                if events
                else replace(template, order_id=order_id, version=version + 1)
            )
            await store.append(order_id, version, [event])
            versions[order_id] = version + 1
            done += 1
        return done

    # Alternating short rounds, so that a drift of the machine's speed (these
    # machines are shared) weighs on both sides alike.
    totals = [0, 0]
    step = seconds / rounds
    for _ in range(rounds):
        bare_done = sum(await asyncio.gather(*(run_bare(step) for _ in range(concurrency))))
        totals[0] += bare_done
        make_ahead(int(bare_done * 1.5 / concurrency) + 64)  # more than a round takes
        totals[1] += sum(
            await asyncio.gather(*(run_store(order_id, step) for order_id in order_ids))
        )
    rates = [total / seconds for total in totals]
    await redis.aclose()
    return rates[0], rates[1]


def append_rate(srv: Servers, seconds: float) -> list[Row]:
    bare, ours = asyncio.run(_append_rates(srv.redis.url, seconds))
    return [
        Row(
            "Event store append, 16 concurrent, in-process",
            "appends/s",
            ours,
            "/s",
            "bare Lua XADD of the same payload",
            bare,
            ">= 0.8",
        )
    ]


def warm(port: int, bodies: list[dict[str, object]]) -> None:
    run_load("127.0.0.1", port, bodies, seconds=1.0, concurrency=8)


def update_sequences(order_ids: list[str], clients: int) -> list[list[dict[str, object]]]:
    """Per client, its own orders walked through the flow, one step per request."""
    steps = ["CONFIRMED", "PROCESSING", "SHIPPED", "DELIVERED"]
    return [
        [{"query": UPDATE, "variables": {"id": oid, "s": s}} for s in steps for oid in mine]
        for mine in (order_ids[c::clients] for c in range(clients))
    ]


def http_rates(srv: Servers, workdir: Path, seconds: float, rounds: int = 3) -> list[Row]:
    """createOrder and updateOrderStatus on one worker whose projector runs in
    its own process (`orders-gql project`), against `{ __typename }`.

    Each figure alternates with its limit in `rounds` short rounds, so that a
    drift of the machine's speed (these machines are shared) weighs on both:
    measured once before the mutations, the limit alone swung 3,140-3,950/s
    between runs of the same code."""
    rows = []
    space = "w"
    step = seconds / rounds
    creates_bodies = [create_body(n) for n in range(1000)]
    # Snapshots every 2 events, so the updates load snapshot + tail and write snapshots.
    with (
        api_server(srv, workdir, "--no-projector", space=space, ORDERS_SNAPSHOT_EVERY="2") as port,
        projector_process(srv, workdir, space),
    ):
        warm(port, [TYPENAME])
        warm(port, creates_bodies)
        typename, created = alternating(port, rounds, step, lambda _: creates_bodies)
        rows.append(
            Row(
                "createOrder over HTTP, one worker, projector in its own process, 32 clients",
                "mutations/s",
                created.rate,
                "/s",
                "{ __typename } on the same server, alternating",
                typename.rate,
                ">= 0.4",
                latency_extra(created),
            )
        )
        # Orders of their own per round, seeded from another process: the first
        # step of each is loaded, the next ones decided from the kept state.
        # Enough for four steps each at the `{ __typename }` rate, which no
        # mutation reaches: sized by the create rate, a round whose updates ran
        # faster than the creates had walked all its orders through and started
        # them over (InvalidStatusTransition, counted as errors).
        count = int(max(created.rate, typename.rate, 500) * step / 4) + 64

        def update_round(r: int) -> list[list[dict[str, object]]]:
            orders = asyncio.run(_seed(srv, space, count, prefix=f"u{r}-"))
            return update_sequences(orders, 32)

        typename, updated = alternating(port, rounds, step, update_round)
        rows.append(
            Row(
                "updateOrderStatus (load + decide + append, snapshots every 2), one worker",
                "mutations/s",
                updated.rate,
                "/s",
                "{ __typename } on the same server, alternating",
                typename.rate,
                ">= 0.3",
                latency_extra(updated),
            )
        )
    return rows


def alternating(
    port: int,
    rounds: int,
    step: float,
    bodies: Callable[[int], list[dict[str, object]] | list[list[dict[str, object]]]],
) -> tuple[LoadResult, LoadResult]:
    """`{ __typename }` and the mutations of `bodies(round)`, each for `step`
    seconds, `rounds` times in turn: (the limit's load, the mutations' load)."""
    limits, figures = [], []
    for r in range(rounds):
        round_bodies = bodies(r)
        limits.append(run_load("127.0.0.1", port, [TYPENAME], seconds=step))
        figures.append(
            run_load("127.0.0.1", port, round_bodies, seconds=step, check=b"OrderPayload")
        )
    return merged(limits), merged(figures)


def latency_extra(result: LoadResult) -> dict[str, float]:
    extra = {
        "p50_ms": result.percentile(0.5) * 1000,
        "p99_ms": result.percentile(0.99) * 1000,
    }
    if result.errors:
        extra["errors"] = result.errors
        print(f"  errors: {result.errors}, first: {result.first_error}", file=sys.stderr)
    return extra


async def _seed(srv: Servers, space: str, count: int, prefix: str = "u") -> list[str]:
    async with components(srv.settings(space)) as parts:
        return await seed_orders(parts.service, range(count), customers=500, prefix=prefix)
