"""Crash test: `orders-gql project` processes killed with SIGKILL at random
moments while about 2,000 events flow, restarted each time. At the end the
read models equal a fresh rebuild document for document, each event was
applied exactly once, and the statistics equal those computed from the events."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio import Redis

from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.readside.keys import ProjectorKeys
from orders_gql.readside.rebuild import rebuild
from orders_gql.readside.store import ReadStore
from orders_gql.service import OrderService
from orders_gql.settings import Settings

from . import workload
from .helpers import active, all_orders, documents, expected_statistics, statistics_of, wait_passed


def spawn(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ORDERS_REDIS_URL": settings.redis_url or "",
        "ORDERS_MONGODB_URL": settings.mongodb_url or "",
        "ORDERS_MONGODB_DB": settings.mongodb_db,
        "ORDERS_KEY_PREFIX": settings.key_prefix,
        "ORDERS_PROJECTOR_CLAIM_IDLE_MS": "1000",
        "ORDERS_PROJECTOR_BATCH": "100",
    }
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "orders_gql", "project"],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip


@pytest.mark.slow
async def test_projectors_killed_at_random_leave_exact_read_models(
    settings: Settings,
    service: OrderService,
    store: RedisEventStore,
    redis: Redis,
    read_store: ReadStore,
    pkeys: ProjectorKeys,
    tmp_path: Path,
) -> None:
    log = tmp_path / "projectors.log"
    rng = random.Random(2026)
    procs = [spawn(settings, log), spawn(settings, log)]
    writer = asyncio.create_task(workload.run(service, workload.script(640, seed=3)))
    kills = 0
    try:
        while not writer.done() or kills < 6:
            await asyncio.sleep(rng.uniform(0.3, 1.5))
            victim = rng.randrange(len(procs))
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait()
            procs[victim] = spawn(settings, log)
            kills += 1
        last = await writer
        await wait_passed(redis, pkeys, last, timeout=120)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    events = len(await store.read_log(count=100_000))
    assert events >= 2000
    models = await active(read_store)
    live = await documents(models)
    fresh_result = await rebuild(read_store, store, pkeys, switch=False)
    fresh = await documents(await read_store.binder.generation(fresh_result.generation))
    assert live == fresh
    checkpoint = await read_store.checkpoint(models.generation)
    assert checkpoint is not None and checkpoint.applied == events  # each applied exactly once
    assert statistics_of(live) == expected_statistics(await all_orders(store))
    assert await redis.xlen(pkeys.dead(0)) == 0
    assert kills >= 6
