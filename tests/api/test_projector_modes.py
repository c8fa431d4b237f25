"""`serve`'s projector runs in a process of its own by default
(ORDERS_PROJECTOR_MODE), on a thread and event loop of its own, or on the
API's loop; either way the read models follow the writes, and shutdown stops
it. The process is started again when it exits, stops when the API process
is gone, and its events are counted in the API's /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orders_gql.app import create_app
from orders_gql.embedded import EmbeddedMongo, EmbeddedRedis, free_port
from orders_gql.projector_process import ProjectorProcess
from orders_gql.settings import Settings, SettingsError

from .gql import change, create, ok

ORDER = "query($id: ID!, $pos: String) { order(orderId: $id, consistentWith: $pos) { status } }"


def projector_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "projector" and t.is_alive()]


def projector_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "projector"]


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def spawned(pid: int) -> list[int]:
    """The children of `pid` that multiprocessing spawned (not its resource tracker)."""
    return [c for c in children_of(pid) if b"spawn_main" in cmdline(c)]


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@contextlib.asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The app in-process, inside its lifespan: a client, and the app's state."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, app.state


async def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("mode", ["process", "thread", "loop"])
async def test_reads_follow_writes_and_shutdown_stops_the_projector(
    settings: Settings, mode: str
) -> None:
    before = projector_threads()
    children = set(spawned(os.getpid()))
    async with served(dataclasses.replace(settings, projector_mode=mode)) as (client, state):
        process: ProjectorProcess | None = state.projector_process
        # where it runs
        assert (
            len(projector_threads()) - len(before),
            len(projector_tasks()),
            process is not None,
        ) == {"process": (0, 0, True), "thread": (1, 0, False), "loop": (0, 1, False)}[mode]
        if process is not None:
            assert process.pid in set(spawned(os.getpid())) - children
        order_id, _ = await create(client)
        pos = await change(client, order_id, "CONFIRMED")
        assert (await ok(client, ORDER, id=order_id, pos=pos))["order"] == {"status": "CONFIRMED"}
    assert projector_threads() == before  # the thread ended with the app
    assert projector_tasks() == []
    if process is not None:
        assert process.pid is not None and not alive(process.pid)


async def projected_events(client: httpx.AsyncClient) -> float:
    """orders_projected_events_total as /metrics shows it."""
    text = (await client.get("/metrics")).text
    (line,) = [x for x in text.splitlines() if x.startswith("orders_projected_events_total ")]
    return float(line.split()[1])


async def until_projected(client: httpx.AsyncClient, count: float) -> None:
    deadline = time.monotonic() + 30
    while await projected_events(client) < count:
        assert time.monotonic() < deadline, f"/metrics never counted {count} events"
        await asyncio.sleep(0.05)


async def test_a_projector_process_that_exits_is_started_again_and_counted(
    settings: Settings,
) -> None:
    async with served(dataclasses.replace(settings, projector_mode="process")) as (client, state):
        process: ProjectorProcess = state.projector_process
        # the counter is this test process's, which other tests' projectors count in too
        before = await projected_events(client)
        order_id, _ = await create(client)
        pos = await change(client, order_id, "CONFIRMED")
        await ok(client, ORDER, id=order_id, pos=pos)
        await until_projected(client, before + 2)
        first = process.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        await wait_for(lambda: process.pid != first and alive(process.pid or 0))
        # the new process projects what comes next, and is counted on top
        pos = await change(client, order_id, "PROCESSING")
        assert (await ok(client, ORDER, id=order_id, pos=pos))["order"] == {"status": "PROCESSING"}
        await until_projected(client, before + 3)
        await asyncio.sleep(0.6)  # a few more of its reports change nothing
        assert await projected_events(client) == before + 3


def _sigint_acts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def serve(
    redis_server: EmbeddedRedis, mongo_server: EmbeddedMongo, key_prefix: str, tmp_path: Path
) -> Iterator[Callable[[], tuple[subprocess.Popen[bytes], int]]]:
    """Starts `orders-gql serve` in a session of its own, as a terminal would;
    returns it and its projector process once that is there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERS_")}
    env.update(
        ORDERS_REDIS_URL=redis_server.url,
        ORDERS_MONGODB_URL=mongo_server.url,
        ORDERS_KEY_PREFIX=key_prefix,
        ORDERS_AUTH="off",
    )
    started: list[subprocess.Popen[bytes]] = []

    def start() -> tuple[subprocess.Popen[bytes], int]:
        with open(tmp_path / "serve.log", "ab") as log:
            api = subprocess.Popen(
                [sys.executable, "-m", "orders_gql", "serve", "--port", str(free_port())],
                env=env, stdout=log, stderr=log, start_new_session=True,
                # Ctrl-C acts, as in a terminal, even when these tests run as a
                # background job of a shell, whose children start with SIGINT ignored.
                preexec_fn=_sigint_acts,
            )  # fmt: skip
        started.append(api)
        deadline = time.monotonic() + 60
        while not spawned(api.pid):
            assert api.poll() is None and time.monotonic() < deadline, "no projector process"
            time.sleep(0.05)
        (child,) = spawned(api.pid)
        return api, child

    yield start
    for api in started:
        if api.poll() is None:
            api.kill()
            api.wait()


def wait_gone(pid: int, what: str) -> None:
    deadline = time.monotonic() + 10
    while alive(pid):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_the_projector_process_stops_when_the_api_process_is_gone(serve: Any) -> None:
    api, child = serve()
    api.kill()  # no chance to stop it
    api.wait()
    wait_gone(child, "the projector process outlived the API")


@pytest.mark.parametrize("after", [1.5, 0.0], ids=["running", "while-the-child-starts"])
def test_ctrl_c_stops_both_processes_once(serve: Any, tmp_path: Path, after: float) -> None:
    api, child = serve()
    time.sleep(after)  # up and running, or the child still importing
    os.killpg(api.pid, signal.SIGINT)  # what Ctrl-C in its terminal sends
    assert api.wait(30) == 128 + signal.SIGINT  # as a shell reports Ctrl-C
    wait_gone(child, "the projector process outlived the API")
    log = (tmp_path / "serve.log").read_text()
    assert "starting another" not in log and "Traceback" not in log, log


def test_sigterm_to_the_process_group_stops_both_quietly(serve: Any, tmp_path: Path) -> None:
    """What `systemctl stop` (its whole control group) and `timeout` send: the
    projector process gets the SIGTERM too and stops on its own, which is no
    exit to restart it after (nor to warn of) while the API stops as well."""
    api, child = serve()
    time.sleep(1.5)  # up and running
    os.killpg(api.pid, signal.SIGTERM)
    api.wait(30)
    wait_gone(child, "the projector process outlived the API")
    assert spawned(api.pid) == []
    log = (tmp_path / "serve.log").read_text()
    assert "starting another" not in log and "Traceback" not in log, log


def test_the_mode_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).projector_mode == "process"
    assert Settings.from_env({"ORDERS_PROJECTOR_MODE": "thread"}).projector_mode == "thread"
    with pytest.raises(
        SettingsError, match="ORDERS_PROJECTOR_MODE must be process, thread or loop"
    ):
        Settings.from_env({"ORDERS_PROJECTOR_MODE": "fork"})
