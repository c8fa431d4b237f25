"""`orders-gql replay` and `orders-gql dead-letters` as an operator runs them."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import subprocess
import sys
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from orders_gql import cli_readside
from orders_gql.domain.commands import UpdateOrderStatus
from orders_gql.domain.status import OrderStatus
from orders_gql.eventstore.codec import UPCASTERS
from orders_gql.eventstore.connect import connect
from orders_gql.eventstore.keys import KeySpace
from orders_gql.readside.deadletters import DeadLetters
from orders_gql.readside.keys import ProjectorKeys
from orders_gql.readside.store import ReadStore
from orders_gql.service import OrderService
from orders_gql.settings import Settings

from ..poison import append_old_schema_event, upcast_v0
from . import workload
from .helpers import active, documents, drain


def cli(settings: Settings, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ORDERS_REDIS_URL": settings.redis_url or "",
        "ORDERS_MONGODB_URL": settings.mongodb_url or "",
        "ORDERS_MONGODB_DB": settings.mongodb_db,
        "ORDERS_KEY_PREFIX": settings.key_prefix,
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "orders_gql", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def test_replay_rebuilds_switches_and_reports_a_count(
    settings: Settings, service: OrderService, read_store: ReadStore, make_projector: Any
) -> None:
    last = await workload.run(service, workload.script(20))
    await drain(make_projector("p1"), last)
    before = await active(read_store)
    expected = await documents(before)

    done = cli(settings, "replay")

    assert done.returncode == 0, done.stderr
    events = await service.store.read_log(count=10_000)
    assert f"replayed {len(events)} events ({len(events)} applied, 0 skipped)" in done.stdout
    assert f"switched from {before.generation}" in done.stdout
    bar = done.stderr.splitlines()[-1]  # the progress bar's last state: count, rate, ETA
    assert f"] {len(events):,}/{len(events):,} events" in bar
    assert "/s  ETA 00:00" in bar
    after = await active(read_store)
    assert after.generation != before.generation
    assert await documents(after) == expected


async def test_dead_letters_list_without_any(settings: Settings) -> None:
    done = cli(settings, "dead-letters", "list")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("0 dead letters")


def test_commands_need_the_servers_urls() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERS_")}
    done = subprocess.run(
        [sys.executable, "-m", "orders_gql", "project"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "ORDERS_MONGODB_URL" in done.stderr


@pytest.mark.parametrize("fixed", [True, False], ids=["cause-fixed", "still-poison"])
async def test_replay_retries_the_dead_letters_of_the_read_models_it_replaced(
    settings: Settings,
    service: OrderService,
    read_store: ReadStore,
    redis: Redis,
    keys: KeySpace,
    pkeys: ProjectorKeys,
    make_projector: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fixed: bool,
) -> None:
    # An event parked; then its cause is fixed (here: the upcaster it needed is
    # deployed) and the read models replayed, which applies it. Its letter
    # stayed, and the order's next event was parked behind it.
    await workload.run(service, [workload.one_mug("o-1", "Ann Example", "ann@example.com")])
    poison = await append_old_schema_event(redis, keys, "o-1")
    await drain(make_projector("p1"), poison)
    letters = DeadLetters(redis, pkeys, read_store, service.store)
    assert [x.position for x in await letters.list()] == [poison]
    if fixed:
        monkeypatch.setitem(UPCASTERS, ("OrderStatusChanged", 0), upcast_v0)

    await cli_readside.replay(settings)

    out = capsys.readouterr().out
    if not fixed:
        assert "dead letters: 0 now applied (their orders unblocked), 1 still dead" in out
        assert [x.position for x in await letters.list()] == [poison]
        listed = cli(settings, "dead-letters", "list")
        assert listed.returncode == 0, listed.stderr
        [line, total] = listed.stdout.splitlines()  # one line per letter
        assert line.startswith(f"{poison}\to-1\tv2\tOrderStatusChanged\tFAILED\t")
        assert total == "1 dead letters"
        retried = cli(settings, "dead-letters", "retry")  # a script sees it did not all apply
        assert (retried.returncode, retried.stdout.strip()) == (1, "applied 0, still dead 1")
        return
    assert "dead letters: 1 now applied (their orders unblocked), 0 still dead" in out
    assert await letters.list() == []
    assert not await redis.hexists(pkeys.blocked(0), "o-1")
    moved = await workload.run(
        service, [UpdateOrderStatus("o-1", OrderStatus.PROCESSING)], tag="after"
    )
    await drain(make_projector("p2"), moved)
    views = (await active(read_store)).views.get_pymongo_collection()
    assert (await views.find_one({"_id": "o-1"}))["version"] == 3
    assert await letters.list() == []


def test_replay_without_mongodb_is_a_one_line_error(settings: Settings) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    down = dataclasses.replace(settings, mongodb_url=f"mongodb://127.0.0.1:{port}/")
    done = cli(down, "replay", ORDERS_MONGODB_TIMEOUT_MS="300")
    assert done.returncode == 1
    assert done.stderr.startswith("orders-gql: MongoDB unavailable: ")
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("ORDERS_LOG_LEVEL", "loud", "ORDERS_LOG_LEVEL must be debug, info"),
        ("ORDERS_JWKS_FILE", "/nonexistent/jwks.json", "ORDERS_JWKS_FILE: no such file"),
        ("ORDERS_API_KEYS_FILE", "/nonexistent/keys.json", "ORDERS_API_KEYS_FILE: no such file"),
        ("ORDERS_PROJECTOR_METRICS_PORT", "70000", "ORDERS_PROJECTOR_METRICS_PORT must be"),
    ],
)
def test_a_bad_setting_is_named_before_anything_starts(
    settings: Settings, name: str, value: str, said: str
) -> None:
    done = cli(settings, "check", **{name: value})
    assert done.returncode == 2
    assert done.stderr.startswith(f"orders-gql: {said}")
    assert "Traceback" not in done.stderr


async def test_generations_are_listed_and_those_no_query_reads_dropped(
    settings: Settings, service: OrderService, read_store: ReadStore, make_projector: Any
) -> None:
    await drain(make_projector("p1"), await workload.run(service, workload.script(5)))
    current = (await active(read_store)).generation
    assert cli(settings, "replay", "--no-switch").returncode == 0  # leaves its generation

    listed = cli(settings, "generations", "list").stdout.splitlines()
    assert listed[-1] == "2 generations"
    states = dict(line.split("\t")[:2] for line in listed[:-1])
    assert states.pop(current) == "active"
    [(built, state)] = states.items()
    assert state == "-"

    refused = cli(settings, "generations", "drop", current)
    assert refused.returncode == 2
    assert f"{current} is the active generation" in refused.stderr
    unknown = cli(settings, "generations", "drop", "g-nonexistent")
    assert (unknown.returncode, unknown.stderr.strip()) == (
        2,
        "orders-gql: no generation g-nonexistent",
    )
    dropped = cli(settings, "generations", "drop", built)
    assert (dropped.returncode, dropped.stdout.strip()) == (0, f"dropped {built}")
    assert cli(settings, "generations", "list").stdout.splitlines()[-1] == "1 generations"
    assert not [n for n in await read_store.db.list_collection_names() if built in n]
    assert (await active(read_store)).generation == current


def _free_port() -> int:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return int(unused.getsockname()[1])


def _metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_a_standalone_projector_serves_its_metrics(
    settings: Settings, service: OrderService
) -> None:
    """`orders-gql project --metrics-port`: its own events counted, the lag
    read from Redis at each scrape; other paths are 404; SIGTERM stops both."""
    port = _free_port()
    env = {
        **os.environ,
        "ORDERS_REDIS_URL": settings.redis_url or "",
        "ORDERS_MONGODB_URL": settings.mongodb_url or "",
        "ORDERS_MONGODB_DB": settings.mongodb_db,
        "ORDERS_KEY_PREFIX": settings.key_prefix,
    }
    await workload.run(service, workload.script(5))
    proc = subprocess.Popen(
        [sys.executable, "-m", "orders_gql", "project", "--metrics-port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline().strip() == f"metrics at http://127.0.0.1:{port}/metrics"
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(timeout=5) as client:
            events = len(await service.store.read_log(count=10_000))
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                page = await client.get(f"{url}/metrics")
                assert page.status_code == 200
                assert page.headers["content-type"].startswith("text/plain")
                projected = _metric(page.text, "orders_projected_events_total")
                lag = _metric(page.text, "orders_projector_lag_events")
                if projected == events and lag == 0:
                    break
                assert asyncio.get_running_loop().time() < deadline, page.text
                await asyncio.sleep(0.2)
            assert _metric(page.text, "orders_dead_letters") == 0
            assert (await client.get(f"{url}/")).status_code == 404
            assert (await client.post(f"{url}/metrics")).status_code == 404
        proc.terminate()
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


async def test_the_lag_is_read_from_redis_at_each_scrape(
    redis: Redis, keys: KeySpace, service: OrderService
) -> None:
    """The figures read from Redis are the log's as it is at the scrape (a
    group no projector reads lags by every event)."""
    unread = ProjectorKeys(keys, "nobody-reads-this-group")
    server = await cli_readside.serve_metrics(
        "127.0.0.1", 0, lambda: cli_readside.scrape_metrics(redis, unread)
    )
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            for orders in (2, 5):
                await workload.run(service, workload.script(orders, prefix=f"m{orders}-"))
                events = len(await service.store.read_log(count=10_000))
                page = await client.get(f"http://127.0.0.1:{port}/metrics")
                assert _metric(page.text, "orders_projector_lag_events") == events
    finally:
        server.close()
        await server.wait_closed()


async def test_metrics_answer_with_redis_down(keys: KeySpace) -> None:
    """A scrape whose refresh cannot reach Redis answers the figures it has,
    at once: the server's client (connect) fails fast where redis-py's own
    default retries with backoff (about 6 s in redis-py 8)."""
    down = connect(f"redis://127.0.0.1:{_free_port()}")  # nothing listens there
    server = await cli_readside.serve_metrics(
        "127.0.0.1", 0, lambda: cli_readside.scrape_metrics(down, ProjectorKeys(keys, "g"))
    )
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            page = await client.get(f"http://127.0.0.1:{port}/metrics")
        assert page.status_code == 200
        assert "orders_projected_events_total" in page.text
    finally:
        server.close()
        await server.wait_closed()
        await down.aclose()


def test_a_metrics_port_in_use_is_a_one_line_error(settings: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli(settings, "project", "--metrics-port", str(port))
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("orders-gql: ") and str(port) in line
    assert "Traceback" not in done.stderr
