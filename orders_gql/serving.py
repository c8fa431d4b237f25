"""Serving the app with uvicorn, so that a shutdown first completes the open
subscriptions (clients get `complete`), then closes connections and the lifespan.

`python -m orders_gql.serving --port 8001` serves with settings from ORDERS_*
only (no embedded servers): how tests and benchmarks start extra processes.
`uvicorn --factory orders_gql.serving:app_from_env --workers N` works too, but
its workers close websockets on shutdown instead of completing subscriptions
(and compress websocket messages unless given `--ws-per-message-deflate false`);
`orders-gql serve --workers N` does complete them."""

from __future__ import annotations

import argparse
import asyncio
import gc
import socket
from collections.abc import Sequence
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .live.hub import LiveHub
from .settings import Settings


class Server(uvicorn.Server):
    """uvicorn's server; on shutdown, the live hub completes its subscriptions first."""

    def __init__(self, config: uvicorn.Config, hub: LiveHub, *, freeze_startup: bool) -> None:
        super().__init__(config)
        self.hub = hub
        self.freeze_startup = freeze_startup

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """uvicorn's signal handler: the projector process (a process group's
        SIGTERM reaches it too) is now stopping with this one."""
        super().handle_exit(sig, frame)
        process = getattr(getattr(self.config.app, "state", None), "projector_process", None)
        if process is not None:
            process.stopping()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.freeze_startup and not self.should_exit:
            tune_gc()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.hub.complete_all()
        await asyncio.sleep(0.05)  # let the `complete` messages reach the sockets
        await super().shutdown(sockets)


#: Allocations between young-generation collections (CPython's default: 700).
#: A request allocates thousands of short-lived objects, most of them freed by
#: reference counting; collecting every 700 cost a tenth of createOrder's CPU.
GC_YOUNG_THRESHOLD = 20_000


def tune_gc() -> None:
    """Once the app has started: move what startup made (modules, the schema,
    the app) out of the collector's reach, so each full collection pauses less
    (with 1,000 subscribers ~220 -> ~130 ms, the p99 of their delivery), and
    collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, second, third)


def server(settings: Settings, host: str, port: int, *, freeze_startup: bool = True) -> Server:
    """A server of a new app with these settings (call `run()` or `serve()`).
    `freeze_startup=False` when the process runs more than one server in turn
    (tests): objects frozen are never collected."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=None,
        access_log=settings.access_log,
        lifespan="on",
        http=http_protocol(),
        # Subscription messages are small: deflating each costs CPU per subscriber
        # and saves next to nothing.
        ws_per_message_deflate=False,
    )
    return Server(config, app.state.components.hub, freeze_startup=freeze_startup)


def http_protocol() -> type[asyncio.Protocol] | str:
    """httptools' protocol with each answer sent in one write (see
    coalescing), or uvicorn's own choice without httptools."""
    try:
        from .coalescing import CoalescingHttpToolsProtocol
    except ImportError:  # no httptools (the `fast` extra), or a uvicorn it does not fit
        return "auto"
    return CoalescingHttpToolsProtocol


def app_from_env() -> Starlette:
    """The app with settings from ORDERS_* (an ASGI factory for uvicorn)."""
    return create_app(Settings.from_env())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m orders_gql.serving")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    server(Settings.from_env(), args.host, args.port).run()


if __name__ == "__main__":
    main()
