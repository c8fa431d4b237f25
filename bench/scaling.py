"""How the write and read sides scale: append rate and projection rate on a
single Redis server, a one-master cluster and a three-master cluster (local,
started here), with one and two projector processes; each figure beside the
single server's from the same run.

    python -m bench.scaling [--orders 2000] [--writers 2] [--concurrency 16]

Appends: `writers` processes, each with `concurrency` createOrder commands in
flight, then as many status changes (two events per order). Projection: the
projector processes are started and connected first; the clock runs from
"go" until the read models hold every event. Stops every server it started.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from multiprocessing.synchronize import Event
from pathlib import Path

from orders_gql.app import build_components
from orders_gql.domain.commands import CreateOrder, ItemInput, Metadata, UpdateOrderStatus
from orders_gql.domain.status import OrderStatus
from orders_gql.embedded import EmbeddedMongo, EmbeddedRedis
from orders_gql.embedded_cluster import EmbeddedCluster
from orders_gql.eventstore.positions import parse_position
from orders_gql.readside.progress import has_passed
from orders_gql.settings import Settings

ITEM = (ItemInput("sku-1", "Teapot", 1, Decimal("12.50")),)
EVERYTHING = "99999999999999-0"  # a plain id: every partition, everything so far


@dataclass(frozen=True)
class Setup:
    name: str
    masters: int  # 0: a single server
    partitions: int


SETUPS = [Setup("single server", 0, 1), Setup("single server, 6 partitions", 0, 6)]
SETUPS += [Setup("cluster, 1 master", 1, 6), Setup("cluster, 3 masters", 3, 6)]


@contextmanager
def redis_for(setup: Setup, folder: Path) -> Iterator[tuple[str, bool]]:
    if setup.masters == 0:
        server = EmbeddedRedis(folder / "redis")
        with server:
            yield server.url, False
    else:
        with EmbeddedCluster(folder / "cluster", masters=setup.masters) as cluster:
            yield cluster.url, True


async def _write(
    settings: Settings, first: int, count: int, concurrency: int, ready: Event, go: Event
) -> None:
    parts = build_components(settings)
    await parts.open()
    ids = iter(range(first, first + count))

    async def one_writer() -> None:
        for n in ids:
            order_id = f"o{n}"
            meta = Metadata(f"c{n}", "bench")
            await parts.service.execute(
                CreateOrder(order_id, "Ada", "ada@example.com", ITEM), metadata=meta
            )
            await parts.service.execute(
                UpdateOrderStatus(order_id, OrderStatus.CONFIRMED), metadata=meta
            )

    try:
        await parts.redis.ping()  # connected before the clock starts
        ready.set()
        while not go.is_set():
            await asyncio.sleep(0.001)
        await asyncio.gather(*(one_writer() for _ in range(concurrency)))
    finally:
        await parts.aclose()


def _writer(settings: Settings, first: int, count: int, concurrency: int, *flags: Event) -> None:
    asyncio.run(_write(settings, first, count, concurrency, *flags))


def append_rate(settings: Settings, orders: int, writers: int, concurrency: int) -> float:
    """Events appended per second by `writers` processes, timed from "go"."""
    context = multiprocessing.get_context("spawn")
    share = orders // writers
    go = context.Event()
    ready = [context.Event() for _ in range(writers)]
    procs = [
        context.Process(target=_writer, args=(settings, w * share, share, concurrency, r, go))
        for w, r in enumerate(ready)
    ]
    for p in procs:
        p.start()
    for r in ready:
        assert r.wait(60), "a writer did not start"
    started = time.perf_counter()
    go.set()
    for p in procs:
        p.join()
        assert p.exitcode == 0, "a writer failed"
    return 2 * share * writers / (time.perf_counter() - started)


async def _project(settings: Settings, ready: Event, go: Event, stop: Event) -> None:
    parts = build_components(settings)
    await parts.open()
    projector = parts.projector()
    try:
        await projector.start()
        ready.set()
        while not go.is_set():
            await asyncio.sleep(0.005)
        while not stop.is_set():
            await projector.step()
    finally:
        await projector.close()
        await parts.aclose()


def _projector(settings: Settings, ready: Event, go: Event, stop: Event) -> None:
    asyncio.run(_project(settings, ready, go, stop))


async def _wait_projected(settings: Settings) -> None:
    parts = build_components(settings)
    assert parts.read_side is not None
    rs = parts.read_side
    everything = parse_position(EVERYTHING, settings.partitions)
    try:
        while not (await has_passed(parts.redis, rs.keys, everything) and await rs.store.active()):
            await asyncio.sleep(0.01)
    finally:
        await parts.aclose()


def projection_rate(settings: Settings, events: int, workers: int) -> float:
    """Events projected per second by `workers` processes into fresh read models."""
    settings = replace(
        settings, mongodb_db=f"b{uuid.uuid4().hex[:10]}", projector_group=f"g{workers}"
    )
    context = multiprocessing.get_context("spawn")
    go, stop = context.Event(), context.Event()
    ready = [context.Event() for _ in range(workers)]
    procs = [context.Process(target=_projector, args=(settings, r, go, stop)) for r in ready]
    for p in procs:
        p.start()
    try:
        for r in ready:
            assert r.wait(60), "a projector did not start"
        started = time.perf_counter()
        go.set()
        asyncio.run(_wait_projected(settings))
        return events / (time.perf_counter() - started)
    finally:
        stop.set()
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()


Row = tuple[str, float, float, float]


def measure(
    setup: Setup, folder: Path, mongo_url: str, orders: int, writers: int, concurrency: int
) -> Row:
    name = setup.name.replace(" ", "-").replace(",", "")
    with redis_for(setup, folder / name) as (url, cluster):
        settings = Settings(
            redis_url=url,
            redis_cluster=cluster,
            partitions=setup.partitions,
            key_prefix="bench",
            mongodb_url=mongo_url,
            snapshot_every=0,
            auth="off",
            log_level="warning",
        )
        appends = append_rate(settings, orders, writers, concurrency)
        events = 2 * (orders // writers) * writers
        one = projection_rate(settings, events, 1)
        two = projection_rate(settings, events, 2)
    print(f"  {setup.name}: {appends:,.0f} appends/s, projection "
          f"{one:,.0f}/s (1 worker), {two:,.0f}/s (2 workers)", flush=True)  # fmt: skip
    return setup.name, appends, one, two


def run(orders: int, writers: int, concurrency: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        mongo = EmbeddedMongo(Path(tmp) / "mongo")
        with mongo:
            return [
                measure(setup, Path(tmp), mongo.url, orders, writers, concurrency)
                for setup in SETUPS
            ]


def report(rows: list[Row]) -> str:
    base = rows[0]
    lines = [
        "| setup | appends/s | vs single | projected/s, 1 worker | vs single "
        "| projected/s, 2 workers | vs single |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, appends, one, two in rows:
        lines.append(
            f"| {name} | {appends:,.0f} | {appends / base[1]:.2f} | {one:,.0f} | "
            f"{one / base[2]:.2f} | {two:,.0f} | {two / base[3]:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=2, help="writer processes")
    parser.add_argument("--concurrency", type=int, default=16, help="commands in flight each")
    args = parser.parse_args()
    rows = run(args.orders, args.writers, args.concurrency)
    print(report(rows))


if __name__ == "__main__":
    main()
