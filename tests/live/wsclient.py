"""A small GraphQL-over-websocket client for the tests: graphql-transport-ws
(the default) or the legacy graphql-ws, messages sorted by operation id."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
#: A safety net so that a broken server fails a test instead of hanging it.
PATIENCE = 15.0

Message = dict[str, Any]


class GraphQLWS:
    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self._inbox: dict[str | None, deque[Message]] = defaultdict(deque)

    async def subscribe(self, op_id: str, query: str, **variables: Any) -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        payload = {"query": query, "variables": variables}
        await self.ws.send(json.dumps({"id": op_id, "type": kind, "payload": payload}))

    async def stop(self, op_id: str) -> None:
        kind = "complete" if self.protocol == TRANSPORT_WS else "stop"
        await self.ws.send(json.dumps({"id": op_id, "type": kind}))

    async def message(self, op_id: str | None) -> Message:
        """The next message of one operation (None: of the connection)."""
        async with asyncio.timeout(PATIENCE):
            while not self._inbox[op_id]:
                frame = await self.ws.recv()
                # graphql-ws clients (GraphiQL's) JSON.parse what a browser hands
                # them: a text frame's string, not a binary frame's Blob
                assert isinstance(frame, str), f"a binary frame: {frame!r}"
                received = json.loads(frame)
                if received.get("type") != "ka":
                    self._inbox[received.get("id")].append(received)
        return self._inbox[op_id].popleft()

    async def data(self, op_id: str) -> dict[str, Any]:
        """The data of the next result; fails on anything else."""
        msg = await self.message(op_id)
        assert msg["type"] in ("next", "data"), msg
        assert "errors" not in msg["payload"], msg
        return dict(msg["payload"]["data"])

    async def results(self, op_id: str, count: int) -> list[dict[str, Any]]:
        return [await self.data(op_id) for _ in range(count)]

    async def until(self, op_id: str, last_position: str, field: str = "orderEvents") -> list[Any]:
        """Events of a subscription up to and including the one at `last_position`."""
        got: list[Any] = []
        while not got or got[-1]["position"] != last_position:
            got.append((await self.data(op_id))[field])
        return got


@contextlib.asynccontextmanager
async def graphql_ws(
    url: str, protocol: str = TRANSPORT_WS, init: dict[str, Any] | None = None, **options: Any
) -> AsyncIterator[GraphQLWS]:
    """A connection that has been acknowledged by the server (`init`: the
    connection_init payload, e.g. credentials)."""
    async with connect(url, subprotocols=[protocol], **options) as ws:  # type: ignore[list-item]
        client = GraphQLWS(ws, protocol)
        await ws.send(json.dumps({"type": "connection_init", "payload": init or {}}))
        assert (await client.message(None))["type"] == "connection_ack"
        yield client


EVENTS = """
subscription Events($orderId: ID, $customerEmail: String, $types: [String!], $after: String) {
  orderEvents(orderId: $orderId, customerEmail: $customerEmail, types: $types, after: $after) {
    type orderId version occurredAt position data
  }
}"""

UPDATED = """
subscription Updated($orderId: ID!) {
  orderUpdated(orderId: $orderId) { orderId status version deleted cancellationReason totalAmount }
}"""
