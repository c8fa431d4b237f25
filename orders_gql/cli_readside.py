"""The read side's command-line actions: project, replay, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from .app import Components, build_components
from .cli_tools import CliError
from .metrics import scrape as scrape_metrics
from .progress import ProgressBar
from .readside.rebuild import rebuild
from .settings import Settings


@contextlib.asynccontextmanager
async def _components(settings: Settings) -> AsyncIterator[Components]:
    parts = build_components(settings)
    try:
        await parts.open()
        yield parts
    finally:
        await parts.aclose()


async def run_projector(settings: Settings) -> None:
    """Project until SIGINT/SIGTERM; with a metrics port, serve /metrics too."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with _components(settings) as parts:
        projector = parts.projector()
        metrics = None
        if settings.projector_metrics_port:
            keys = parts.read_side.keys if parts.read_side is not None else None
            metrics = await serve_metrics(
                settings.projector_metrics_host,
                settings.projector_metrics_port,
                lambda: scrape_metrics(parts.redis, keys),
            )
            where = f"http://{settings.projector_metrics_host}:{settings.projector_metrics_port}"
            print(f"metrics at {where}/metrics", file=sys.stderr, flush=True)
        print(f"projector {projector.consumer} started", file=sys.stderr, flush=True)
        try:
            await projector.run(stop)
        finally:
            if metrics is not None:
                metrics.close()
                await metrics.wait_closed()


async def serve_metrics(
    host: str, port: int, scrape: Callable[[], Awaitable[tuple[bytes, str]]]
) -> asyncio.Server:
    """Prometheus' /metrics for a process without an HTTP API, on its own event
    loop: each `GET /metrics` answers `scrape()` (metrics.scrape: the figures
    read from Redis refreshed, as the API's /metrics does); anything else is
    a 404."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            method, target, *_ = [*head.split(b"\r\n", 1)[0].split(b" "), b"", b""]
            if method == b"GET" and target.split(b"?", 1)[0] == b"/metrics":
                body, content_type = await scrape()
                status = b"200 OK"
            else:
                body, content_type, status = b"not found\n", "text/plain", b"404 Not Found"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: " + content_type.encode()
                + b"\r\nContent-Length: " + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n" + body
            )  # fmt: skip
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a client that sent no request, or left
        finally:
            writer.close()

    return await asyncio.start_server(answer, host, port)


async def replay(settings: Settings, switch: bool = True) -> None:
    async with _components(settings) as parts:
        assert parts.read_side is not None
        rs = parts.read_side
        bar = ProgressBar("replay")
        result = await rebuild(
            rs.store, parts.store, rs.keys, batch_size=settings.projector_batch,
            switch=switch, progress=bar,
        )  # fmt: skip
        bar.finish()
        rate = result.events / max(time.monotonic() - bar.started, 1e-9)
        where = f"switched from {result.replaced}" if result.replaced else "not switched"
        print(
            f"replayed {result.events} events ({result.applied} applied, "
            f"{len(result.skipped)} skipped) into generation {result.generation} "
            f"at {rate:,.0f} events/s; {where}"
        )
        if switch and await rs.dead_letters.list(limit=1):
            # The new read models hold the events of the letters the replay could
            # apply; their orders would stay blocked behind them until a retry.
            report = await rs.dead_letters.retry()
            print(
                f"dead letters: {report.applied} now applied (their orders unblocked), "
                f"{report.still_dead} still dead"
            )


async def generations(settings: Settings, action: str, names: list[str]) -> int:
    """List every generation (the active one marked), or drop inactive ones: a
    replay with --no-switch, or one that was killed, leaves its generation."""
    async with _components(settings) as parts:
        assert parts.read_side is not None
        store = parts.read_side.store
        active = await store.active_generation()
        if action == "list":
            found = await store.checkpoints.find({}).sort("_id", 1).to_list(None)
            for doc in found:
                state = "active" if doc["_id"] == active else "sealed" if doc.get("sealed") else "-"
                print(f"{doc['_id']}\t{state}\tapplied={doc.get('applied', 0)}")
            print(f"{len(found)} generations")
            return 0
        if not names:
            raise CliError("name the generations to drop (see: orders-gql generations list)")
        known = {doc["_id"] for doc in await store.checkpoints.find({}, {"_id": 1}).to_list(None)}
        for name in names:
            if name == active:
                raise CliError(f"{name} is the active generation: queries read it")
            if name not in known:
                raise CliError(f"no generation {name}")
        for name in names:
            await store.drop_generation(name)
            print(f"dropped {name}")
        return 0


async def dead_letters(settings: Settings, action: str, order_id: str | None) -> int:
    """List or retry; a retry that leaves letters dead exits 1."""
    async with _components(settings) as parts:
        assert parts.read_side is not None
        letters = parts.read_side.dead_letters
        if action == "retry":
            report = await letters.retry(order_id)
            print(f"applied {report.applied}, still dead {report.still_dead}")
            return 1 if report.still_dead else 0
        found = await letters.list(order_id, limit=1000)
        for x in found:
            error = " ".join(x.error.split())  # one line per letter, fields tab-separated
            print(f"{x.position}\t{x.order_id}\tv{x.version}\t{x.event_type}\t{x.reason}\t"
                  f"attempts={x.attempts}\t{error}")  # fmt: skip
        print(f"{len(found)} dead letters")
        return 0
