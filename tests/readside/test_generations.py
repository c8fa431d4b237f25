"""Read models of one generation through two clients of one process (a
projector and a command, each with its own client): each reads through its own."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from pymongo import AsyncMongoClient

from orders_gql.embedded import EmbeddedMongo
from orders_gql.readside.store import ReadStore


async def test_each_client_s_read_models_use_that_client(
    read_store: ReadStore, mongo_server: EmbeddedMongo, mongo_db: str
) -> None:
    models = await read_store.create_generation()
    await models.views.get_pymongo_collection().insert_one({"_id": "o1"})
    found: list[Any] = []

    async def other_loop() -> None:  # another thread, its own event loop and client
        client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_server.url, tz_aware=True)
        try:
            theirs = await ReadStore(client, mongo_db).binder.generation(models.generation)
            found.append(await theirs.views.get_pymongo_collection().find_one({"_id": "o1"}))
        finally:
            await client.close()

    thread = threading.Thread(target=asyncio.run, args=(other_loop(),))
    thread.start()
    await asyncio.to_thread(thread.join, 30)

    # both still read, each through its own client (Beanie binds a document
    # class to one client: shared classes sent one loop's reads to the other's)
    assert found == [{"_id": "o1"}]
    assert await models.views.get_pymongo_collection().find_one({"_id": "o1"}) == {"_id": "o1"}
    assert models.views.get_pymongo_collection().database.client is read_store.client
