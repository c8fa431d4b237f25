"""`python -m bench.replay_child`: the replay `orders-gql replay` runs (a new
generation from the whole log, then the switch), in a process of its own so
its peak RSS is its own. Prints one JSON line: events, seconds, max_rss_kb."""

from __future__ import annotations

import asyncio
import json
import resource
import time

from orders_gql.readside.rebuild import rebuild
from orders_gql.settings import Settings

from .seed import components


async def main() -> None:
    settings = Settings.from_env()
    async with components(settings) as parts:
        assert parts.read_side is not None
        rs = parts.read_side
        started = time.perf_counter()
        result = await rebuild(
            rs.store, parts.store, rs.keys, batch_size=settings.projector_batch, drop_after=-1
        )
        elapsed = time.perf_counter() - started
        if result.replaced:  # outside the timing: the CLI waits for readers first
            await rs.store.drop_generation(result.replaced)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"events": result.events, "seconds": elapsed, "max_rss_kb": rss}))


if __name__ == "__main__":
    asyncio.run(main())
