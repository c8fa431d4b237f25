"""How the write and read sides scale: append rate and projection rate on a
single Redis server, a one-master cluster and a three-master cluster (local,
started here), with one and two projector processes; each figure beside the
single server's from the same run.

    python -m bench.scaling [--orders 2000] [--writers 2] [--concurrency 16] [--rounds 3]

Appends: `writers` processes, each with `concurrency` createOrder commands in
flight, then as many status changes (two events per order). Projection: the
projector processes are started and connected first; the clock runs from
"go" until the read models hold every event. Every setup is measured once per
round; the table shows medians. Stops every server it started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import statistics
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


Figures = tuple[float, float, float]  # appends/s, projected/s with 1 and 2 workers


def measure(settings: Settings, orders: int, writers: int, concurrency: int) -> Figures:
    appends = append_rate(settings, orders, writers, concurrency)
    events = 2 * (orders // writers) * writers
    return appends, projection_rate(settings, events, 1), projection_rate(settings, events, 2)


def run(orders: int, writers: int, concurrency: int, rounds: int) -> list[list[Figures]]:
    """Figures per round, per setup: every setup is measured in each round, so
    that a ratio compares figures taken minutes apart at most."""
    results: list[list[Figures]] = []
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as servers:
        mongo = EmbeddedMongo(Path(tmp) / "mongo")
        servers.enter_context(mongo)
        urls = [
            servers.enter_context(redis_for(s, Path(tmp) / str(i))) for i, s in enumerate(SETUPS)
        ]
        for r in range(rounds):
            row: list[Figures] = []
            for setup, (url, cluster) in zip(SETUPS, urls, strict=True):
                settings = Settings(
                    redis_url=url,
                    redis_cluster=cluster,
                    partitions=setup.partitions,
                    key_prefix=f"bench{r}",
                    mongodb_url=mongo.url,
                    snapshot_every=0,
                    auth="off",
                    log_level="warning",
                )
                row.append(measure(settings, orders, writers, concurrency))
                a, one, two = row[-1]
                print(f"  round {r + 1}, {setup.name}: {a:,.0f} appends/s, projection "
                      f"{one:,.0f}/s (1 worker), {two:,.0f}/s (2 workers)", flush=True)  # fmt: skip
            results.append(row)
    return results


def report(results: list[list[Figures]]) -> str:
    """Medians over the rounds; each ratio is the median of the rounds' ratios
    to the single server (same column)."""
    lines = [
        "| setup | appends/s | vs single | projected/s, 1 worker | vs single "
        "| projected/s, 2 workers | vs single |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for i, setup in enumerate(SETUPS):
        cells = [setup.name]
        for col in range(3):
            cells.append(f"{statistics.median(row[i][col] for row in results):,.0f}")
            ratio = statistics.median(row[i][col] / row[0][col] for row in results)
            cells.append(f"{ratio:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=2, help="writer processes")
    parser.add_argument("--concurrency", type=int, default=16, help="commands in flight each")
    parser.add_argument("--rounds", type=int, default=3, help="medians over this many")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    results = run(args.orders, args.writers, args.concurrency, args.rounds)
    print(report(results))
    print(f"load average (1 min) {load:.2f} before, {os.getloadavg()[0]:.2f} after, "
          f"on {os.cpu_count()} cores")  # fmt: skip


if __name__ == "__main__":
    main()
