"""Operator commands: `events` (an order's stream, or the live log) and `check`."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import orjson

from .eventstore.codec import event_to_json
from .eventstore.connect import REDIS_OR_OS_ERRORS, connect
from .eventstore.keys import KeySpace
from .eventstore.positions import InvalidPosition, Position, parse_position
from .eventstore.redis_store import EventStoreUnavailable, RedisEventStore
from .live.log_tail import LogTail
from .settings import Settings


class CliError(Exception):
    """An error to show as one line, without a traceback."""


def resolve_urls(settings: Settings) -> Settings:
    """Fill unset URLs from a running `serve`'s embedded servers (servers.json)."""
    found = settings.data_dir / "servers.json"
    if (settings.redis_url and settings.mongodb_url) or not found.exists():
        return settings
    known = json.loads(found.read_text())
    from dataclasses import replace

    return replace(
        settings,
        redis_url=settings.redis_url or known.get("redis_url"),
        mongodb_url=settings.mongodb_url or known.get("mongodb_url"),
    )


def _store(settings: Settings) -> RedisEventStore:
    if not settings.redis_url:
        raise CliError(
            "no Redis to read: set ORDERS_REDIS_URL, or start `orders-gql serve` "
            f"(it records its embedded servers in {Path(settings.data_dir) / 'servers.json'})"
        )
    redis = connect(settings.redis_url, cluster=settings.redis_cluster, max_connections=4)
    return RedisEventStore(redis, KeySpace(settings.key_prefix, settings.partitions))


def _line(doc: dict[str, object], position: str) -> str:
    return orjson.dumps({"position": position, **doc}).decode()


async def _events(settings: Settings, args: argparse.Namespace) -> int:
    store = _store(settings)
    try:
        if args.order_id:
            stored = await store.read_stream(args.order_id)
            if not stored:
                raise CliError(f"order {args.order_id!r} has no events")
            for s in stored:
                print(_line(event_to_json(s.event), store.position(args.order_id, s.position)))
            return 0
        await _log(store, args.after, args.follow)
        return 0
    except EventStoreUnavailable as exc:
        raise CliError(f"cannot read the event store at {settings.redis_url}: {exc}") from exc
    finally:
        await store.redis.aclose()


async def _log(store: RedisEventStore, after: str, follow: bool) -> None:
    """The log after a position (every partition, each in its order), then live if `follow`."""
    partitions = store.keys.partitions
    try:
        start = parse_position(after, partitions)
    except InvalidPosition as exc:
        raise CliError(f"--after: {exc}") from exc
    tail = LogTail(store, block_ms=5000 if follow else None)
    tail.cursors = {p: start.start(p) for p in range(partitions)}
    reached = dict(tail.cursors)
    try:
        while True:
            batch = await tail.read()
            for s in batch:
                reached[store.keys.partition_of(s.event.order_id)] = s.position
                position = Position.of(partitions, reached).encode()
                print(_line(event_to_json(s.event), position), flush=True)
            if not batch and not follow:
                return
    finally:
        await tail.close()


async def _check(settings: Settings) -> int:
    failures = 0
    if settings.redis_url:
        redis = connect(settings.redis_url, cluster=settings.redis_cluster, max_connections=4)
        try:
            info = await redis.info("server")
            server = "valkey" if "valkey_version" in info else "redis"
            version = info.get("valkey_version") or info.get("redis_version")
            persistence = await redis.config_get("appendonly")
            print(
                f"redis    ok   {settings.redis_url}  {server} {version}  "
                f"appendonly={persistence.get('appendonly', '?')}"
            )
        except REDIS_OR_OS_ERRORS as exc:
            failures += 1
            print(f"redis    DOWN {settings.redis_url}  {type(exc).__name__}: {exc}")
        finally:
            await redis.aclose()
    else:
        failures += 1
        print(
            "redis    -    not configured (ORDERS_REDIS_URL) and no running serve found in "
            f"{settings.data_dir} (--data-dir or ORDERS_DATA_DIR)"
        )
    if settings.mongodb_url:
        from pymongo.errors import PyMongoError

        from .readside.mongo import mongo_client

        client = mongo_client(settings.mongodb_url, 2000)
        try:
            build = await client.admin.command("buildInfo")
            hello = await client.admin.command("hello")
            replica = hello.get("setName", "standalone")
            print(
                f"mongodb  ok   {settings.mongodb_url}  version {build.get('version')}  "
                f"replica set {replica}"
            )
        except PyMongoError as exc:
            failures += 1
            print(f"mongodb  DOWN {settings.mongodb_url}  {type(exc).__name__}")
        finally:
            await client.close()
    else:
        failures += 1
        print(
            "mongodb  -    not configured (ORDERS_MONGODB_URL) and no running serve found in "
            f"{settings.data_dir} (--data-dir or ORDERS_DATA_DIR)"
        )
    return 1 if failures else 0


def cmd_events(args: argparse.Namespace) -> int:
    settings = resolve_urls(Settings.from_env())
    try:
        return asyncio.run(_events(settings, args))
    except KeyboardInterrupt:
        return 0


def cmd_check(args: argparse.Namespace) -> int:
    return asyncio.run(_check(resolve_urls(Settings.from_env())))


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """For commands that find a running `serve`'s servers (its servers.json)."""
    parser.add_argument(
        "--data-dir", help="the data folder of the serve to use (default: ORDERS_DATA_DIR)"
    )


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    events = sub.add_parser(
        "events",
        help="print an order's events, or the event log (one JSON object per line)",
        description="Print an order's stream, or the whole log; --follow tails it live.",
    )
    events.add_argument("order_id", nargs="?", help="an order id; omit it to read the log")
    events.add_argument("--after", default="0-0", help="log position to start after")
    events.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    add_data_dir(events)
    events.set_defaults(func=cmd_events)

    check = sub.add_parser(
        "check", help="can it reach Redis and MongoDB, and which versions are they"
    )
    add_data_dir(check)
    check.set_defaults(func=cmd_check)
