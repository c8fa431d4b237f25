"""`orders-gql events` and `orders-gql check`: readable output, one-line errors."""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
from pathlib import Path

from orders_gql.domain.commands import Metadata, UpdateOrderStatus
from orders_gql.domain.status import OrderStatus
from orders_gql.embedded import EmbeddedRedis, free_port
from orders_gql.service import OrderService

from .eventstore.test_redis_store import create


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ORDERS_")}
    return subprocess.run(
        [sys.executable, "-m", "orders_gql", *args],
        env={**base, "ORDERS_DATA_DIR": "/nonexistent", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_events_prints_an_orders_stream_and_the_log(
    service: OrderService, redis_server: EmbeddedRedis, key_prefix: str
) -> None:
    await service.execute(create("o1"), metadata=Metadata("c1", "r"))
    await service.execute(
        UpdateOrderStatus("o1", OrderStatus.CONFIRMED), metadata=Metadata("c2", "r")
    )
    env = {"ORDERS_REDIS_URL": redis_server.url, "ORDERS_KEY_PREFIX": key_prefix}
    out = cli("events", "o1", **env)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(e["type"], e["version"]) for e in lines] == [
        ("OrderCreated", 1),
        ("OrderStatusChanged", 2),
    ]
    log = cli("events", "--after", lines[0]["position"], **env)
    assert [json.loads(line)["version"] for line in log.stdout.splitlines()] == [2]


def test_events_of_an_unknown_order_is_one_line(redis_server: EmbeddedRedis) -> None:
    out = cli("events", "nope", ORDERS_REDIS_URL=redis_server.url, ORDERS_KEY_PREFIX="none")
    assert out.returncode == 2
    assert out.stderr.strip() == "orders-gql: order 'nope' has no events"


def test_unreachable_redis_is_one_line() -> None:
    out = cli("events", "o1", ORDERS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert out.returncode == 2
    assert out.stderr.startswith("orders-gql: cannot read the event store")
    assert "Traceback" not in out.stderr


def test_check_reports_each_dependency(redis_server: EmbeddedRedis) -> None:
    dead = f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=500"
    out = cli("check", ORDERS_REDIS_URL=redis_server.url, ORDERS_MONGODB_URL=dead)
    assert out.returncode == 1
    redis_line, mongo_line = out.stdout.splitlines()
    assert redis_line.startswith("redis    ok") and "appendonly=yes" in redis_line
    assert mongo_line.startswith("mongodb  DOWN")


def test_bad_setting_is_one_line() -> None:
    out = cli("check", ORDERS_PARTITIONS="many")
    assert out.returncode == 2
    assert out.stderr.strip() == "orders-gql: ORDERS_PARTITIONS must be a whole number, not 'many'"


def test_serve_refuses_a_port_that_cannot_be_and_starts_nothing(tmp_path: Path) -> None:
    for port in ("99999", "0", "-1", "http"):
        out = cli("serve", "--port", port, "--data-dir", str(tmp_path / "data"))
        assert out.returncode == 2, out.stderr
        assert "argument --port: must be a port number, 1-65535" in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
    assert not (tmp_path / "data").exists()  # no embedded server was started


def test_the_playground_without_credentials_is_served_on_this_machine_only(
    tmp_path: Path,
) -> None:
    """With embedded servers and no credentials `serve` turns authentication
    off (every caller an admin), which is for a playground on loopback: on any
    other address it stops, before it starts anything, unless told."""
    for host in ("0.0.0.0", "::", "192.168.1.20"):
        out = cli("serve", "--host", host, "--data-dir", str(tmp_path / "data"))
        assert out.returncode == 2, out.stderr
        said = out.stderr.strip().splitlines()[-1]
        assert said.startswith(f"orders-gql: serve --host {host} with authentication off"), said
        assert "ORDERS_JWT_SECRET" in said and "ORDERS_AUTH=off" in said
    assert not (tmp_path / "data").exists()


def test_every_command_has_help() -> None:
    commands = ("serve", "export-schema", "events", "check", "demo-data", "project",
                "replay", "generations", "dead-letters")  # fmt: skip
    with concurrent.futures.ThreadPoolExecutor(4) as pool:  # a process each
        answers = dict(zip(commands, pool.map(lambda c: cli(c, "--help"), commands), strict=True))
    for command, out in answers.items():
        assert out.returncode == 0 and f"usage: orders-gql {command}" in out.stdout, command


def test_check_without_servers_says_where_it_looked(tmp_path: Path) -> None:
    out = cli("check", ORDERS_DATA_DIR=str(tmp_path))
    assert out.returncode == 1
    for server in ("redis", "mongodb"):
        [line] = [x for x in out.stdout.splitlines() if x.startswith(server)]
        assert f"no running serve found in {tmp_path} (--data-dir or ORDERS_DATA_DIR)" in line
