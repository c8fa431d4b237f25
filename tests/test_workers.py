"""`orders-gql serve --workers 2`: two API processes accept on one port. Each
tails the log for its own subscribers and runs a projector in the shared
group; mutations, reads of one's own writes and subscriptions stay correct
whichever process a connection lands on, and a SIGTERM completes them all."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orders_gql.embedded import EmbeddedMongo, EmbeddedRedis, free_port

from .api.gql import STATUS, ok, order_input
from .api.graphql_client import CREATE
from .api.test_read_queries import ORDER
from .live.wsclient import EVENTS, graphql_ws
from .test_cli_serve import wait_healthy

SUBSCRIBERS = 4
ORDERS = 8


@pytest.fixture
def workers(
    tmp_path: Path,
    redis_server: EmbeddedRedis,
    mongo_server: EmbeddedMongo,
    key_prefix: str,
    mongo_db: str,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERS_")}
    env.update(
        ORDERS_REDIS_URL=redis_server.url,
        ORDERS_MONGODB_URL=mongo_server.url,
        ORDERS_MONGODB_DB=mongo_db,
        ORDERS_KEY_PREFIX=key_prefix,
        ORDERS_PARTITIONS="3",
        ORDERS_AUTH="off",
        ORDERS_LOG_LEVEL="warning",
        # Bounds, not timings: the suite's other tests load the machine.
        ORDERS_CONSISTENCY_TIMEOUT_MS="15000",
        ORDERS_MONGODB_TIMEOUT_MS="15000",
    )
    port = free_port()
    with open(tmp_path / "serve.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "orders_gql", "serve", "--workers", "2", "--port", str(port)],
            env=env, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, proc)
        yield base, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def worker_processes(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


async def mutate(base: str, query: str, **variables: object) -> dict[str, object]:
    """Each request on a new connection, so requests spread over the processes."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:  # stalls outlast 5 s
        data = await ok(client, query, **variables)
    return dict(next(iter(data.values())))


async def read(base: str, order_id: str, position: str) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:  # stalls outlast 5 s
        return dict((await ok(client, ORDER, id=order_id, pos=position))["order"])


async def scrape(base: str) -> dict[str, float]:
    """One /metrics answer on a new connection, as sample -> value."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:  # stalls outlast 5 s
        text = (await client.get("/metrics")).text
    samples = (line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    return {name: float(value) for name, value in samples}


async def test_two_processes_on_one_port_stay_correct(
    workers: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, proc = workers
    assert len(worker_processes(proc.pid)) == 2
    ws_url = base.replace("http", "ws") + "/graphql"
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(graphql_ws(ws_url)) for _ in range(SUBSCRIBERS)]
        for ws in clients:
            await ws.subscribe("1", EVENTS, after="0-0")
        written: list[tuple[str, int]] = []
        for n in range(ORDERS):
            created = await mutate(base, CREATE, input=order_input(name=f"Customer {n}"))
            order_id = str(created["order"]["orderId"])  # type: ignore[index]
            assert (await read(base, order_id, str(created["position"])))["version"] == 1
            moved = await mutate(base, STATUS, id=order_id, status="CONFIRMED")
            assert (await read(base, order_id, str(moved["position"])))["status"] == "CONFIRMED"
            written += [(order_id, 1), (order_id, 2)]
        for ws in clients:
            got = [(await ws.data("1"))["orderEvents"] for _ in written]
            assert sorted((e["orderId"], e["version"]) for e in got) == sorted(written)
            for order_id, _ in written[::2]:  # per order, in version order
                assert [e["version"] for e in got if e["orderId"] == order_id] == [1, 2]

        # Whichever process answers /metrics counts for all of them (it
        # answered for itself: counters seemed to reset on every other scrape).
        for _ in range(6):
            figures = await scrape(base)
            assert figures['orders_commands_total{command="createOrder",outcome="ok"}'] == ORDERS
            assert figures['orders_commands_total{command="updateOrderStatus",outcome="ok"}'] == (
                ORDERS
            )
            assert figures["orders_subscribers"] == SUBSCRIBERS
            assert figures["orders_projected_events_total"] >= 2 * ORDERS

        proc.send_signal(signal.SIGTERM)
        for ws in clients:  # every process completes its subscriptions
            assert (await ws.message("1"))["type"] == "complete"
    assert await asyncio.to_thread(proc.wait, 30) == 0
