"""consistentWith across a rebuild of wiped read models: the projector resets
its consumer group to the log's start and then marks the new read models
ready. A read that checks in between must not combine the group's old
progress with the new ready flag (it answered from empty read models: seen
as `totalCount` 0 instead of 8 after a wipe)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.positions import Position
from orders_gql.readside.keys import ProjectorKeys
from orders_gql.readside.progress import NotYetProjected, has_passed, wait_until_passed


async def test_a_reset_between_the_checks_is_not_taken_for_progress(
    redis: Redis, keys: KeySpace
) -> None:
    projector = ProjectorKeys(keys)
    log = projector.log(0)
    entries = [await redis.xadd(log, {"e": f"event {n}"}) for n in range(3)]
    position = Position.of_entry(1, 0, entries[1].decode())
    # The old read models had projected everything: delivered and acknowledged.
    await redis.xgroup_create(log, projector.group, "0")
    read = await redis.xreadgroup(projector.group, "c1", {log: ">"})
    await redis.xack(log, projector.group, *[entry_id for entry_id, _ in read[0][1]])
    assert await has_passed(redis, projector, position)

    resets = 0

    async def ready() -> bool:
        """The new read models: the projector resets the group, then marks them
        ready, exactly while this read is between its two checks."""
        nonlocal resets
        if resets == 0:
            await redis.xgroup_setid(log, projector.group, "0")
            resets += 1
        return True

    with pytest.raises(NotYetProjected):
        await wait_until_passed(redis, projector, position, 0.2, ready=ready)
    assert resets == 1
