"""Live subscriptions under load: 1,000 concurrent subscribers on one server
process against 1, each receiving every event.

Starts its own Redis-compatible server and an `orders_gql.serving` process,
appends events one at a time (each once every subscriber has the previous one)
and prints, for 1 and for 1,000 subscribers, the delivery latency p50/p99 from
the append call to receipt by a websocket client, the Redis commands
issued per event (INFO commandstats, reset before the measured appends) and
the server process's CPU time per event (less noisy than the latencies when
the clients share the machine).

    python -m bench.subscriptions [--subscribers 1000] [--events 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from orders_gql.domain.commands import CreateOrder, ItemInput, Metadata
from orders_gql.embedded import EmbeddedRedis, free_port
from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.service import OrderService

from .harness import cpu_seconds

PREFIX = "bench"
QUERY = "subscription($after: String) { orderEvents(after: $after) { position } }"


@dataclass
class Figures:
    subscribers: int
    p50_ms: float
    p99_ms: float
    commands_per_event: float
    xread_per_event: float
    server_cpu_ms_per_event: float


def server_env(redis_url: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("ORDERS_")},
        "ORDERS_REDIS_URL": redis_url,
        "ORDERS_KEY_PREFIX": PREFIX,
        "ORDERS_LOG_LEVEL": "warning",
        "ORDERS_AUTH": "off",
    }


@contextlib.contextmanager
def server_process(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """The server's host:port and pid."""
    port = free_port()
    cmd = [sys.executable, "-m", "orders_gql.serving", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env)
    try:
        yield f"127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def wait_ready(base: str) -> None:
    async with asyncio.timeout(30), httpx.AsyncClient() as http:
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"http://{base}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)


class Subscriber:
    """One websocket connection with one orderEvents subscription."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: dict[str, float] = {}
        self.problem: str | None = None
        self.arrived = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self, after: str) -> None:
        await self.ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await self.ws.recv())["type"] == "connection_ack"
        payload = {"query": QUERY, "variables": {"after": after}}
        await self.ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                now = time.perf_counter()
                msg = json.loads(raw)
                if msg["type"] == "next" and not msg["payload"].get("errors"):
                    self.received[msg["payload"]["data"]["orderEvents"]["position"]] = now
                else:
                    self.problem = str(msg)
                self.arrived.set()
        except ConnectionClosed as exc:
            self.problem = f"connection closed: {exc}"
        self.arrived.set()


@contextlib.asynccontextmanager
async def subscribers(url: str, count: int, after: str) -> AsyncIterator[list[Subscriber]]:
    async with contextlib.AsyncExitStack() as stack:
        subs: list[Subscriber] = []
        for start in range(0, count, 100):
            batch = range(start, min(count, start + 100))
            conns = await asyncio.gather(
                *(stack.enter_async_context(connect(url, subprotocols=["graphql-transport-ws"]))  # type: ignore[list-item]
                  for _ in batch)
            )  # fmt: skip
            subs += [Subscriber(ws) for ws in conns]
        await asyncio.gather(*(s.start(after) for s in subs))
        yield subs
        for s in subs:
            if s.task:
                s.task.cancel()


async def everyone_has(subs: list[Subscriber], position: str) -> None:
    async with asyncio.timeout(60):
        for s in subs:
            while position not in s.received:
                if s.problem:
                    raise RuntimeError(f"a subscriber got {s.problem}")
                s.arrived.clear()
                await s.arrived.wait()


async def measure(
    url: str, server_pid: int, service: OrderService, redis: Redis, count: int, events: int
) -> Figures:
    meta = iter(range(10**9))
    n = 0

    async def append() -> tuple[str, float]:
        nonlocal n
        n += 1
        command = CreateOrder(
            f"b{count}-{n}", "Ada Lovelace", "ada@example.com",
            (ItemInput("p1", "Pen", 1, Decimal("2.50")),),
        )  # fmt: skip
        started = time.perf_counter()
        done = await service.execute(command, metadata=Metadata(f"bench-{count}-{next(meta)}", "b"))
        return done.position, started

    after = await service.store.last_position()
    async with subscribers(url, count, after) as subs:
        for _ in range(2):  # once all have the second, every catch-up read is done
            warm, _ = await append()
            await everyone_has(subs, warm)
        await redis.config_resetstat()
        cpu_before = cpu_seconds(server_pid)
        sent: dict[str, float] = {}
        for _ in range(events):
            position, started = await append()
            sent[position] = started
            await everyone_has(subs, position)
        cpu = cpu_seconds(server_pid) - cpu_before
        stats = await redis.info("commandstats")
    calls = {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()}
    calls.pop("info", None)
    calls.pop("config|resetstat", None)
    latencies = sorted((s.received[p] - t) * 1000 for s in subs for p, t in sent.items())
    return Figures(
        subscribers=count,
        p50_ms=statistics.median(latencies),
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        commands_per_event=sum(calls.values()) / events,
        xread_per_event=calls.get("xread", 0) / events,
        server_cpu_ms_per_event=cpu * 1000 / events,
    )


def report(one: Figures, many: Figures) -> str:
    rows = [
        ("delivery latency p50 (ms)", one.p50_ms, many.p50_ms),
        ("delivery latency p99 (ms)", one.p99_ms, many.p99_ms),
        ("Redis commands per event", one.commands_per_event, many.commands_per_event),
        ("  of which XREAD", one.xread_per_event, many.xread_per_event),
        ("server CPU per event (ms)", one.server_cpu_ms_per_event, many.server_cpu_ms_per_event),
    ]
    head = f"{'':28}{'1 subscriber':>14}{f'{many.subscribers} subscribers':>18}{'ratio':>9}"
    lines = [head]
    for name, a, b in rows:
        ratio = f"{b / a:.2f}" if a else "-"
        lines.append(f"{name:28}{a:>14.2f}{b:>18.2f}{ratio:>9}")
    return "\n".join(lines)


async def compare(redis_url: str, count: int, events: int) -> tuple[Figures, Figures]:
    """1 subscriber, then `count`, on one server process (without MongoDB)."""
    redis = Redis.from_url(redis_url)
    service = OrderService(RedisEventStore(redis, KeySpace(PREFIX)))
    try:
        with server_process(server_env(redis_url)) as (base, pid):
            await wait_ready(base)
            url = f"ws://{base}/graphql"
            one = await measure(url, pid, service, redis, 1, events)
            many = await measure(url, pid, service, redis, count, events)
    finally:
        await redis.aclose()
    return one, many


async def run(count: int, events: int, data_dir: Path) -> str:
    with EmbeddedRedis(data_dir / "redis") as server:
        one, many = await compare(server.url, count, events)
    return report(one, many)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.subscriptions")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="orders-gql-bench-") as tmp:
        print(asyncio.run(run(args.subscribers, args.events, Path(tmp))))


if __name__ == "__main__":
    main()
