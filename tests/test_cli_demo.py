"""`orders-gql demo-data N` against a real Redis: the events it writes, the spread
of statuses, the progress bar and the final count; and its one-line errors."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

from orders_gql.demo_data import FATES, plan
from orders_gql.domain.events import DomainEvent, OrderCreated
from orders_gql.domain.model import Order, fold
from orders_gql.domain.validation import validate_create
from orders_gql.embedded import EmbeddedRedis, free_port
from orders_gql.eventstore.redis_store import RedisEventStore

from .test_cli_tools import cli


async def orders_in(store: RedisEventStore) -> dict[str, Order]:
    """Every order of the log, folded from its events."""
    streams: dict[str, list[DomainEvent]] = defaultdict(list)
    for stored in await store.read_log(count=100_000):
        streams[stored.event.order_id].append(stored.event)
    return {oid: fold(Order(oid), events) for oid, events in streams.items()}


async def test_demo_data_creates_orders_and_moves_them_through_the_flow(
    redis_server: EmbeddedRedis, key_prefix: str, store: RedisEventStore
) -> None:
    env = {"ORDERS_REDIS_URL": redis_server.url, "ORDERS_KEY_PREFIX": key_prefix}

    done = cli("demo-data", "60", "--seed", "8", **env)

    assert done.returncode == 0, done.stderr
    assert "] 60/60 orders" in done.stderr and "/s  ETA" in done.stderr  # the progress bar
    orders = await orders_in(store)
    assert len(orders) == 60
    ended = Counter("DELETED" if o.deleted else o.status.name for o in orders.values())
    assert set(ended) >= {"PENDING", "CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED", "DELETED"}
    assert max(ended.values()) < 30  # spread, not piled up in one status
    events = len(await store.read_log(count=100_000))
    where = ", ".join(f"{ended[s]} {s.lower()}" for s in FATES if ended[s])
    assert done.stdout.strip().startswith(f"created 60 orders ({events} events) in ")
    assert done.stdout.strip().endswith(f"s: {where}")
    assert len({o.customer_email for o in orders.values()}) >= 10
    assert len({i.product_id for o in orders.values() for i in o.items}) >= 10


async def test_each_order_starts_with_its_creation(
    redis_server: EmbeddedRedis, key_prefix: str, store: RedisEventStore
) -> None:
    env = {"ORDERS_REDIS_URL": redis_server.url, "ORDERS_KEY_PREFIX": key_prefix}
    assert cli("demo-data", "5", **env).returncode == 0
    for order_id in await orders_in(store):
        first = (await store.read_stream(order_id))[0].event
        assert isinstance(first, OrderCreated) and first.version == 1


def test_the_plan_is_valid_varied_and_repeatable() -> None:
    orders = plan(300, random.Random(3))
    again = plan(300, random.Random(3))

    assert [o.fate for o in orders] == [o.fate for o in again]
    assert [o.create.items for o in orders] == [o.create.items for o in again]
    assert set(Counter(o.fate for o in orders)) == set(FATES)
    for order in orders:
        assert validate_create(order.create).items == order.create.items
    assert len({o.create.customer_email for o in orders}) > 50
    assert {len(o.create.items) for o in orders} >= {1, 2, 3}


def test_bad_count_and_unreachable_redis_are_one_line() -> None:
    zero = cli("demo-data", "0")
    assert zero.returncode == 2 and "must be between 1 and" in zero.stderr

    down = cli("demo-data", "3", ORDERS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert down.returncode == 2
    assert (
        down.stderr.strip()
        .splitlines()[-1]
        .startswith("orders-gql: cannot write to the event store at redis://127.0.0.1:")
    )
    assert "Traceback" not in down.stderr


def test_demo_data_has_help() -> None:
    out = cli("demo-data", "--help")
    assert out.returncode == 0 and "usage: orders-gql demo-data" in out.stdout
    assert "--seed" in out.stdout
