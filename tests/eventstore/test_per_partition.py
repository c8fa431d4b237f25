"""Standing reads per partition (a cluster's live tail): a read that fails
is raised once, and every failed read's error is taken, so asyncio does not
log it later as never retrieved (seen during a cluster failover, a traceback
per partition)."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from orders_gql.eventstore.per_partition import StandingReads


async def test_reads_that_fail_together_raise_one_error_and_log_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing = True

    async def read(partition: int, block_ms: int | None) -> list[str]:
        if failing:
            raise ConnectionError(f"partition {partition} is down")
        return [f"entry of {partition}"]

    reads: StandingReads[str] = StandingReads(read)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        with pytest.raises(ConnectionError, match="is down"):  # both failed in one turn
            await reads.next([0, 1], block_ms=50)
        failing = False
        assert await reads.next([0, 1], block_ms=50) == {0: ["entry of 0"], 1: ["entry of 1"]}
        await reads.close()
        gc.collect()
        await asyncio.sleep(0)
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
