"""Serving the app with uvicorn, so that a shutdown first completes the open
subscriptions (clients get `complete`), then closes connections and the lifespan.

`python -m orders_gql.serving --port 8001` serves with settings from ORDERS_*
only (no embedded servers): how tests and benchmarks start extra processes.
`uvicorn --factory orders_gql.serving:app_from_env --workers N` works too, but
its workers close websockets on shutdown instead of completing subscriptions;
`orders-gql serve --workers N` does complete them."""

from __future__ import annotations

import argparse
import asyncio
import gc
import socket
from collections.abc import Sequence

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .live.hub import LiveHub
from .settings import Settings


class Server(uvicorn.Server):
    """uvicorn's server; on shutdown, the live hub completes its subscriptions first."""

    def __init__(self, config: uvicorn.Config, hub: LiveHub) -> None:
        super().__init__(config)
        self.hub = hub

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
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
    """Once the app has started: move what startup made (modules, schema,
    clients) out of the collector's sight, and collect the young generation
    less often."""
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, second, third)


def server(settings: Settings, host: str, port: int) -> Server:
    """A server of a new app with these settings (call `run()` or `serve()`)."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=None,
        access_log=settings.access_log,
        lifespan="on",
    )
    return Server(config, app.state.components.hub)


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
