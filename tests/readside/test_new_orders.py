"""A batch does not read the views of the orders it creates (they have none);
when such an order's view is there after all (its creation delivered again
after a crash before the acknowledgement, or applied by a racing projector),
the batch is applied again reading every view, and changes nothing twice."""

from __future__ import annotations

from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.readside.generations import ReadModels
from orders_gql.readside.store import Delivery, ReadStore
from orders_gql.service import OrderService

from . import workload
from .helpers import Commands, active, all_orders, documents, expected_statistics, statistics_of


async def _log(store: RedisEventStore) -> list[Delivery]:
    return [Delivery(s.event, s.position) for s in await store.read_log(count=10_000)]


async def _workload(
    read_store: ReadStore, service: OrderService, store: RedisEventStore, seed: int
) -> tuple[ReadModels, list[Delivery]]:
    """Thirty orders' events in the log, and the (empty) read models to apply them to."""
    await workload.run(service, workload.script(30, seed=seed))
    await read_store.ensure_active()
    return await active(read_store), await _log(store)


async def test_a_batch_of_new_orders_reads_none_of_their_views(
    watched: tuple[ReadStore, Commands], service: OrderService, store: RedisEventStore
) -> None:
    read_store, commands = watched
    models, log = await _workload(read_store, service, store, seed=3)
    views = models.views.get_pymongo_collection().name
    created = [d for d in log if d.event.version == 1]
    commands.sent.clear()

    outcome = await read_store.apply(created)

    assert (outcome.applied, outcome.skipped) == (len(created), 0)
    assert ("find", views) not in commands.sent
    assert ("insert", views) in commands.sent
    # later events of known orders read their views (to rewrite them)
    commands.sent.clear()
    later = [d for d in log if d.event.version > 1]
    await read_store.apply(later)
    assert ("find", views) in commands.sent
    assert statistics_of(await documents(models)) == expected_statistics(await all_orders(store))


async def test_creations_delivered_again_change_nothing(
    watched: tuple[ReadStore, Commands], service: OrderService, store: RedisEventStore
) -> None:
    read_store, commands = watched
    models, log = await _workload(read_store, service, store, seed=4)
    await read_store.apply(log)
    before = await documents(models)
    views = models.views.get_pymongo_collection().name

    # the creations again, alone and with the events after them, and with
    # one order never seen before in the same batch
    commands.sent.clear()
    again = await read_store.apply([d for d in log if d.event.version == 1])
    assert (again.applied, again.skipped) == (0, len({d.event.order_id for d in log}))
    assert commands.sent.count(("abortTransaction", "1")) == 1  # the insert met the views
    assert ("find", views) in commands.sent  # then read them
    assert (await read_store.apply(log)).applied == 0
    assert await documents(models) == before

    fresh = workload.script(1, seed=9, prefix="n")
    await workload.run(service, fresh, tag="fresh")
    newest = [d for d in await _log(store) if d.event.order_id.startswith("n")]
    mixed = await read_store.apply(log + newest)
    assert (mixed.applied, mixed.skipped) == (len(newest), len(log))
    assert statistics_of(await documents(models)) == expected_statistics(await all_orders(store))
