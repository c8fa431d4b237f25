"""`orders-gql demo-data N`: create N realistic orders through the OrderService
and take them through the flow, with a progress bar."""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .app import Components, build_components
from .cli_tools import CliError, add_data_dir, resolve_urls
from .demo_data import FATES, DemoOrder, plan
from .domain.commands import Metadata
from .domain.errors import DomainError
from .eventstore.redis_store import EventStoreUnavailable
from .progress import ProgressBar
from .service import OrderService
from .settings import Settings

MAX_ORDERS = 1_000_000


@dataclass
class DemoReport:
    """What a demo-data run wrote: orders by where they ended up, and events."""

    outcomes: Counter[str]
    events: int
    seconds: float

    def summary(self) -> str:
        where = ", ".join(f"{self.outcomes[f]} {f.lower()}" for f in FATES if self.outcomes[f])
        total = sum(self.outcomes.values())
        return f"created {total} orders ({self.events} events) in {self.seconds:.1f}s: {where}"


def _components(settings: Settings) -> Components:
    """The write side as the API has it (the command authenticates no caller)."""
    if not settings.redis_url:
        raise CliError(
            "no Redis to write to: set ORDERS_REDIS_URL, or start `orders-gql serve` "
            f"(it records its embedded servers in {settings.data_dir / 'servers.json'})"
        )
    return build_components(settings)


async def _run_one(
    service: OrderService, order: DemoOrder, metadata: Callable[[], Metadata]
) -> tuple[str, int]:
    result = await service.execute(order.create, metadata=metadata())
    events = len(result.events)
    for step in order.steps:
        result = await service.execute(step, metadata=metadata())
        events += len(result.events)
    outcome = "DELETED" if result.order.deleted else result.order.status.name
    return outcome, events


async def run_demo(
    service: OrderService,
    orders: list[DemoOrder],
    *,
    concurrency: int = 16,
    progress: Callable[[int, int], None] | None = None,
) -> DemoReport:
    """Execute the demo orders, `concurrency` at a time; return what they became."""
    run = f"demo-data-{uuid.uuid4()}"
    report = DemoReport(Counter(), 0, 0.0)
    started = time.monotonic()
    pending: Iterator[DemoOrder] = iter(orders)

    def metadata() -> Metadata:
        return Metadata(command_id=str(uuid.uuid4()), correlation_id=run, issued_by="demo-data")

    async def worker() -> None:
        for order in pending:  # shared: each order is taken by one worker
            outcome, events = await _run_one(service, order, metadata)
            report.outcomes[outcome] += 1
            report.events += events
            if progress:
                progress(sum(report.outcomes.values()), len(orders))

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, min(concurrency, len(orders)))):
                group.create_task(worker())
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    report.seconds = time.monotonic() - started
    return report


async def _demo(settings: Settings, args: argparse.Namespace) -> int:
    orders = plan(args.count, random.Random(args.seed))
    parts = _components(settings)
    bar = ProgressBar("demo-data", "orders")
    bar(0, len(orders))  # shown from the start; on a failure it tells how far it got
    try:
        report = await run_demo(parts.service, orders, concurrency=args.concurrency, progress=bar)
    except EventStoreUnavailable as exc:
        raise CliError(f"cannot write to the event store at {settings.redis_url}: {exc}") from exc
    except DomainError as err:
        raise CliError(f"a demo order was refused: {err}") from err
    finally:
        bar.finish()
        await parts.aclose()
    print(report.summary())
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    return asyncio.run(_demo(resolve_urls(Settings.from_env()), args))


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_ORDERS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_ORDERS:,}")
    return value


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = sub.add_parser(
        "demo-data",
        help="create N realistic orders and move them through the flow",
        description="Create N orders (varied customers, products, quantities and prices) "
        "through the write side and take them through the flow: some stay pending, others "
        "are confirmed, processing, shipped, delivered or cancelled, a few are deleted. "
        "Writes to ORDERS_REDIS_URL, or to the servers of a running `orders-gql serve`.",
    )
    demo.add_argument("count", type=_count, metavar="N", help="how many orders")
    demo.add_argument("--seed", type=int, help="seed of the random choices (same seed, same mix)")
    add_data_dir(demo)
    demo.add_argument(
        "--concurrency", type=_count, default=16, help="orders in flight at once (default 16)"
    )
    demo.set_defaults(func=cmd_demo_data)
