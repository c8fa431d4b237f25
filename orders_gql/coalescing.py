"""uvicorn's httptools protocol, with the writes of one step of the event loop
sent together: uvicorn writes a response's status line and headers, then its
body, each straight to the socket, two system calls per answer (over the
loopback a send also runs the receiver's side: 15% of the API's CPU per
createOrder). Here they go out as one, at the end of the step that wrote them.

A websocket upgrade gets the connection's own transport: frames are written as
the websocket protocol writes them."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

if not all(
    hasattr(HttpToolsProtocol, name) for name in ("connection_made", "handle_websocket_upgrade")
):
    # a uvicorn whose protocol is built otherwise: serving falls back to its own
    raise ImportError("uvicorn's httptools protocol is not the one this wraps")


class CoalescingTransport:
    """A transport whose writes are held until the event loop's next turn,
    then sent as one; everything else goes to the transport underneath."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))

    def flush(self) -> None:
        held, self._held = self._held, []
        if held and not self.transport.is_closing():
            self.transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = CoalescingTransport(transport, self.loop)  # type: ignore[assignment]

    def handle_websocket_upgrade(self) -> None:
        coalescing = self.transport
        if isinstance(coalescing, CoalescingTransport):
            coalescing.flush()
            self.transport = coalescing.transport
        super().handle_websocket_upgrade()
