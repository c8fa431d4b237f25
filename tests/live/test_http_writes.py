"""Answers are written once each (orders_gql.coalescing): over a real server
they arrive whole and in order on a keep-alive connection, and the transport
sends what one step of the event loop wrote as one write."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import orjson
import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from orders_gql.coalescing import CoalescingHttpToolsProtocol, CoalescingTransport
from orders_gql.serving import http_protocol

from .support import Running


def _post(body: dict[str, Any]) -> bytes:
    data = orjson.dumps(body)
    return (
        b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(data), data)
    )


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return int(head[9:12]), await reader.readexactly(length)


def test_serve_uses_the_coalescing_protocol() -> None:
    assert http_protocol() is CoalescingHttpToolsProtocol


def test_a_uvicorn_without_the_wrapped_hooks_gets_its_own_protocol(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(HttpToolsProtocol, "handle_websocket_upgrade")
    monkeypatch.delitem(sys.modules, "orders_gql.coalescing")  # imported afresh
    assert http_protocol() == "auto"


async def test_answers_arrive_whole_and_in_order_on_a_keep_alive_connection(
    live: Running,
) -> None:
    port = int(live.http_url.split(":")[2].split("/")[0])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        # three requests in one write: pipelined, answered in turn
        writer.write(
            _post({"query": "{ __typename }"})
            + b"GET /graphql HTTP/1.1\r\nHost: t\r\nAccept: text/html\r\n\r\n"
            + _post({"query": "{ order(orderId: 42) { id } }"})
        )
        status, body = await _answer(reader)
        assert (status, orjson.loads(body)) == (200, {"data": {"__typename": "Query"}})
        status, page = await _answer(reader)
        assert status == 200 and b"graphiql" in page.lower() and len(page) > 1000
        status, body = await _answer(reader)
        (error,) = orjson.loads(body)["errors"]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"  # an Int, not an ID
        for n in range(20):  # one after another on the same connection
            writer.write(_post({"query": "{ __typename }", "operationName": None}))
            assert (await _answer(reader))[0] == 200, n
    finally:
        writer.close()


class _Recording(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closing = False
        self.closed_after = -1

    def write(self, data: Any) -> None:
        assert not self.closing
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True
        self.closed_after = len(self.writes)

    def get_write_buffer_size(self) -> int:
        return 7


async def test_the_writes_of_one_step_are_sent_as_one_at_the_next_turn() -> None:
    underneath = _Recording()
    transport = CoalescingTransport(underneath, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(memoryview(b"body"))
    assert underneath.writes == []  # held until the step ends
    await asyncio.sleep(0)
    assert underneath.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert underneath.writes[1:] == [b"next"]
    assert transport.get_write_buffer_size() == 7  # the rest goes underneath


async def test_closing_sends_what_is_held_first_and_nothing_after() -> None:
    underneath = _Recording()
    transport = CoalescingTransport(underneath, asyncio.get_running_loop())
    transport.write(b"last words")
    transport.close()
    assert (underneath.writes, underneath.closed_after) == ([b"last words"], 1)
    transport.write(b"too late")  # the connection is gone: dropped, no error
    await asyncio.sleep(0)
    assert underneath.writes == [b"last words"]
