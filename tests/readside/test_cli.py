"""`orders-gql replay` and `orders-gql dead-letters` as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from orders_gql.readside.store import ReadStore
from orders_gql.service import OrderService
from orders_gql.settings import Settings

from . import workload
from .helpers import active, documents, drain


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ORDERS_REDIS_URL": settings.redis_url or "",
        "ORDERS_MONGODB_URL": settings.mongodb_url or "",
        "ORDERS_MONGODB_DB": settings.mongodb_db,
        "ORDERS_KEY_PREFIX": settings.key_prefix,
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
