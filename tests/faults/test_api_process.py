"""The API process killed mid-request leaves no half-written command, and a
retry with the same idempotency key returns the original result. SIGTERM lets
in-flight requests finish."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from orders_gql.embedded import EmbeddedRedis, free_port
from orders_gql.eventstore.keys import KeySpace

from ..api.graphql_client import CREATE, order_input


class Api:
    def __init__(self, redis_url: str, prefix: str, log: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERS_")}
        self.env.update(
            ORDERS_REDIS_URL=redis_url,
            ORDERS_MONGODB_URL=f"mongodb://127.0.0.1:{free_port()}/",
            ORDERS_KEY_PREFIX=prefix,
            ORDERS_AUTH="off",
        )
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> None:
        port = free_port()
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "orders_gql", "serve", "--port", str(port)],
                env=self.env,
                stdout=out,
                stderr=out,
            )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(self.log.read_text())

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def api(redis_server: EmbeddedRedis, key_prefix: str, tmp_path: Path) -> Iterator[Api]:
    server = Api(redis_server.url, key_prefix, tmp_path / "api.log")
    yield server
    server.stop()


async def _create(client: httpx.AsyncClient, key: str) -> dict[str, object] | None:
    try:
        response = await client.post(
            "/graphql", json={"query": CREATE, "variables": {"input": order_input(), "key": key}}
        )
    except httpx.TransportError:
        return None  # the process died under this request
    return response.json()["data"]["createOrder"]  # type: ignore[no-any-return]


async def test_sigkill_mid_request_then_retry_with_the_same_keys(
    api: Api, redis: Redis, keys: KeySpace
) -> None:
    api.start()
    keys_used = [f"k-{n}" for n in range(300)]
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
        sem = asyncio.Semaphore(32)
        done: list[str] = []

        async def one(key: str) -> dict[str, object] | None:
            async with sem:
                result = await _create(client, key)
            done.append(key)
            return result

        tasks = [asyncio.create_task(one(k)) for k in keys_used]
        while len(done) < 40:
            await asyncio.sleep(0.005)
        api.signal(signal.SIGKILL)  # with requests in flight
        first = await asyncio.gather(*tasks)
    answered = {k: r for k, r in zip(keys_used, first, strict=False) if r is not None}
    assert 0 < len(answered) < len(keys_used), "the kill should land mid-stream"

    api.proc.wait()  # type: ignore[union-attr]
    api.start()
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
        retried = await asyncio.gather(*(_create(client, k) for k in keys_used))
    for key, result in zip(keys_used, retried, strict=True):
        assert result is not None and result["__typename"] == "OrderPayload"
        if key in answered:  # same order, same position: the first result
            assert result["order"] == answered[key]["order"]  # type: ignore[index]
            assert result["position"] == answered[key]["position"]  # type: ignore[index]
            assert result["replayed"] is True
    # Exactly one order per key, each a single complete event, and the log agrees.
    order_ids = {r["order"]["orderId"] for r in retried}  # type: ignore[index]
    assert len(order_ids) == len(keys_used)
    for order_id in order_ids:
        assert await redis.xlen(keys.order(order_id)) == 1
    assert await redis.xlen(keys.log()) == len(keys_used)


async def test_sigterm_lets_in_flight_requests_finish(
    api: Api, redis: Redis, keys: KeySpace
) -> None:
    api.start()
    answered: list[tuple[float, dict[str, object]]] = []
    stopping = asyncio.Event()
    sigterm_at = 0.0

    async def worker(n: int, client: httpx.AsyncClient) -> None:
        for step in range(1000):
            result = await _create(client, f"t-{n}-{step}")
            if result is None:
                return  # the server closed: no more requests
            answered.append((time.monotonic(), result))
            if stopping.is_set() and time.monotonic() - sigterm_at > 5:
                return

    async with httpx.AsyncClient(base_url=api.url, timeout=10) as client:
        workers = [asyncio.create_task(worker(n, client)) for n in range(40)]
        while len(answered) < 40:
            await asyncio.sleep(0.01)
        sigterm_at = time.monotonic()
        api.signal(signal.SIGTERM)
        stopping.set()
        await asyncio.gather(*workers)
    assert api.proc.wait(15) == 0  # type: ignore[union-attr]
    finished_after = [r for at, r in answered if at > sigterm_at]
    assert finished_after, "requests in flight at SIGTERM were answered"
    assert all(r["__typename"] == "OrderPayload" for _, r in answered)
    for _, result in answered:  # every answered order is stored
        assert await redis.xlen(keys.order(result["order"]["orderId"])) == 1  # type: ignore[index]
