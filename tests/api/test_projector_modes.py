"""`serve`'s projector runs on a thread and event loop of its own by default
(ORDERS_PROJECTOR_THREAD), or on the API's loop; either way the read models
follow the writes, and shutdown stops it."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import pytest

from orders_gql.settings import Settings

from ..conftest import http_client
from .gql import change, create, ok

ORDER = "query($id: ID!, $pos: String) { order(orderId: $id, consistentWith: $pos) { status } }"


def projector_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "projector" and t.is_alive()]


def projector_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "projector"]


@pytest.mark.parametrize("thread", [True, False], ids=["own thread", "api loop"])
async def test_reads_follow_writes_and_shutdown_stops_the_projector(
    settings: Settings, thread: bool
) -> None:
    before = projector_threads()
    async with http_client(dataclasses.replace(settings, projector_thread=thread)) as client:
        # where it runs
        assert (len(projector_threads()) - len(before), len(projector_tasks())) == (
            (1, 0) if thread else (0, 1)
        )
        order_id, _ = await create(client)
        pos = await change(client, order_id, "CONFIRMED")
        assert (await ok(client, ORDER, id=order_id, pos=pos))["order"] == {"status": "CONFIRMED"}
    assert projector_threads() == before  # the thread ended with the app
    assert projector_tasks() == []


def test_the_setting_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).projector_thread is True
    assert Settings.from_env({"ORDERS_PROJECTOR_THREAD": "off"}).projector_thread is False
