"""The README's first command: `orders-gql serve` on a machine with nothing
else running starts its own Redis-compatible server and SecantusDB, serves
GraphiQL, stores events, stops everything cleanly and keeps the data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from orders_gql.embedded import free_port

from .api.graphql_client import CREATE, order_input


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "serve exited early"
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("serve did not become healthy")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERS_")}
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> str:
        port = free_port()
        with open(tmp_path / "serve.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "orders_gql", "serve", "--port", str(port),
                 "--data-dir", str(tmp_path / "data")],
                env=env, stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, proc)
        return base

    def stop() -> int:
        proc = procs[-1]
        proc.send_signal(signal.SIGTERM)
        return proc.wait(30)

    yield start, stop, tmp_path / "data"
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_with_embedded_servers_keeps_data_across_restarts(serve) -> None:  # type: ignore[no-untyped-def]
    start, stop, data_dir = serve
    base = start()
    page = httpx.get(f"{base}/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()

    body = httpx.post(
        f"{base}/graphql", json={"query": CREATE, "variables": {"input": order_input()}}
    ).json()
    order_id = body["data"]["createOrder"]["order"]["orderId"]
    # the projector (in serve's own projector process) brings it to the read models
    read = "query($id: ID!, $pos: String) { order(orderId: $id, consistentWith: $pos) { status } }"
    position = body["data"]["createOrder"]["position"]
    seen = httpx.post(
        f"{base}/graphql", json={"query": read, "variables": {"id": order_id, "pos": position}}
    ).json()
    assert seen == {"data": {"order": {"status": "PENDING"}}}
    servers = json.loads((data_dir / "servers.json").read_text())
    with redis.Redis.from_url(servers["redis_url"]) as r:
        entries = r.xrange(f"orders:{{p0}}:order:{order_id}")
    assert len(entries) == 1
    # the other commands find this serve by its --data-dir too
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERS_")}
    for args, says in ((["events", order_id], "OrderCreated"), (["check"], "redis    ok")):
        found = subprocess.run(
            [sys.executable, "-m", "orders_gql", *args, "--data-dir", str(data_dir)],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert found.returncode == 0 and says in found.stdout, found.stdout + found.stderr

    assert stop() == 0
    with pytest.raises(redis.ConnectionError), redis.Redis.from_url(servers["redis_url"]) as r:
        r.ping()  # the embedded server stopped with it

    base = start()
    query = "query($id: ID!) { orderHistory(orderId: $id) { type } }"
    again = httpx.post(
        f"{base}/graphql", json={"query": query, "variables": {"id": order_id}}
    ).json()
    assert again["data"]["orderHistory"] == [{"type": "OrderCreated"}]
    assert stop() == 0


def test_a_second_serve_on_the_same_data_folder_is_refused(serve) -> None:  # type: ignore[no-untyped-def]
    """Two embedded Redis servers on one AOF folder would append to the same
    files; the second `serve` stops before it starts anything."""
    start, stop, data_dir = serve
    base = start()
    recorded = (data_dir / "servers.json").read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERS_")}
    second = subprocess.run(
        [sys.executable, "-m", "orders_gql", "serve", "--port", str(free_port()),
         "--data-dir", str(data_dir)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert second.returncode == 2, second.stderr
    said = second.stderr.strip().splitlines()[-1]
    assert said.startswith("orders-gql: ") and str(data_dir) in said and "--data-dir" in said
    assert "Traceback" not in second.stderr, second.stderr
    # the first one's servers and records are as they were, and it still serves
    assert (data_dir / "servers.json").read_text() == recorded
    # no second Redis-compatible server was started on its AOF folder
    assert (data_dir / "redis" / "redis.log").read_text().count("is starting") == 1
    assert httpx.get(f"{base}/healthz").status_code == 200
    assert stop() == 0
    base = start()  # and once it stopped, the folder is free again
    assert httpx.get(f"{base}/healthz").status_code == 200
    assert stop() == 0


def _redis_on(port: str) -> int:
    """The pid of the Redis-compatible server on `port` (it retitles itself
    "redis-server 127.0.0.1:PORT", or valkey-server)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"-server" in title and f"127.0.0.1:{port}".encode() in title:
            found.append(int(entry.name))
    [pid] = found
    return pid


def test_an_embedded_server_that_dies_is_started_again(serve) -> None:  # type: ignore[no-untyped-def]
    start, stop, data_dir = serve
    base = start()
    create = {"query": CREATE, "variables": {"input": order_input()}}
    first = httpx.post(f"{base}/graphql", json=create).json()["data"]["createOrder"]
    time.sleep(1.5)  # past the embedded Redis's fsync (everysec)
    port = json.loads((data_dir / "servers.json").read_text())["redis_url"].rsplit(":", 1)[1]
    os.kill(_redis_on(port.split("/")[0]), signal.SIGKILL)

    deadline = time.monotonic() + 30
    while True:  # the first tries fail while it is down
        assert time.monotonic() < deadline, "no createOrder succeeded after the kill"
        reply = httpx.post(f"{base}/graphql", json=create, timeout=10).json()
        if not reply.get("errors"):
            break
        time.sleep(0.2)
    query = "query($id: ID!) { orderHistory(orderId: $id) { type } }"
    history = httpx.post(
        f"{base}/graphql", json={"query": query, "variables": {"id": first["order"]["orderId"]}}
    ).json()
    assert history == {"data": {"orderHistory": [{"type": "OrderCreated"}]}}
    assert stop() == 0
    log = (data_dir.parent / "serve.log").read_text()
    assert "embedded redis exited with code -9" in log and "embedded redis is back" in log
