"""orders_gql.gathering: calls of one event-loop turn go out as one batch;
each caller still gets its own answer, its own error, its own cancellation."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence

import pytest

from orders_gql.gathering import Gathering


class Recorder:
    """A `send` that records its batches and answers each item doubled;
    items listed in `refuse` are answered with an error of their own."""

    def __init__(self, refuse: Sequence[int] = (), fail: Exception | None = None) -> None:
        self.batches: list[list[int]] = []
        self.refuse = set(refuse)
        self.fail = fail
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return [ValueError(f"refused {i}") if i in self.refuse else i * 2 for i in items]


async def test_calls_of_one_turn_are_one_batch_answered_in_order() -> None:
    send = Recorder()
    gathering: Gathering[int, int] = Gathering(send, most=10)
    assert await asyncio.gather(*(gathering(i) for i in range(5))) == [0, 2, 4, 6, 8]
    assert send.batches == [[0, 1, 2, 3, 4]]


async def test_calls_of_later_turns_are_later_batches() -> None:
    send = Recorder()
    gathering: Gathering[int, int] = Gathering(send, most=10)
    assert await gathering(1) == 2
    assert await gathering(2) == 4
    assert send.batches == [[1], [2]]


async def test_a_full_batch_starts_the_next() -> None:
    send = Recorder()
    gathering: Gathering[int, int] = Gathering(send, most=3)
    assert await asyncio.gather(*(gathering(i) for i in range(7))) == [i * 2 for i in range(7)]
    assert send.batches == [[0, 1, 2], [3, 4, 5], [6]]


async def test_an_items_error_reaches_its_caller_alone() -> None:
    gathering: Gathering[int, int] = Gathering(Recorder(refuse=[1]), most=10)
    got = await asyncio.gather(*(gathering(i) for i in range(3)), return_exceptions=True)
    assert got[0] == 0 and got[2] == 4
    assert isinstance(got[1], ValueError) and str(got[1]) == "refused 1"


async def test_a_failed_batch_gives_every_caller_an_error_of_its_own() -> None:
    cause = ConnectionError("server gone")
    gathering: Gathering[int, int] = Gathering(Recorder(fail=cause), most=10)
    got = await asyncio.gather(*(gathering(i) for i in range(3)), return_exceptions=True)
    assert [type(g) for g in got] == [ConnectionError] * 3  # the same type by default
    assert all(str(g) == "server gone" and g.__cause__ is cause for g in got)  # type: ignore[union-attr]
    assert len({id(g) for g in got}) == 3

    mapped: Gathering[int, int] = Gathering(
        Recorder(fail=cause), most=10, failed=lambda exc: RuntimeError(f"mapped: {exc}")
    )
    with pytest.raises(RuntimeError, match="mapped: server gone"):
        await mapped(1)


async def test_a_cancelled_caller_leaves_the_others_and_its_item_is_sent() -> None:
    send = Recorder()
    send.release.clear()
    gathering: Gathering[int, int] = Gathering(send, most=10)
    first = asyncio.ensure_future(gathering(1))
    second = asyncio.ensure_future(gathering(2))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the batch is out, waiting for its answer
    first.cancel()
    send.release.set()
    assert await second == 4
    with pytest.raises(asyncio.CancelledError):
        await first
    assert send.batches == [[1, 2]]


async def test_cancelling_the_batch_cancels_its_callers() -> None:
    send = Recorder()
    send.release.clear()
    gathering: Gathering[int, int] = Gathering(send, most=10)
    callers = [asyncio.ensure_future(gathering(i)) for i in range(2)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    (running,) = gathering._running
    running.cancel()
    got = await asyncio.gather(*callers, return_exceptions=True)
    assert [type(g) for g in got] == [asyncio.CancelledError] * 2


async def test_the_batch_runs_in_no_callers_context() -> None:
    who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")
    seen: list[str] = []

    async def send(items: list[int]) -> list[int]:
        seen.append(who.get())
        return items

    gathering: Gathering[int, int] = Gathering(send, most=10)

    async def caller(name: str, item: int) -> int:
        who.set(name)
        return await gathering(item)

    assert await asyncio.gather(caller("first", 1), caller("second", 2)) == [1, 2]
    assert seen == ["nobody"]


async def test_an_error_that_cannot_be_copied_still_reaches_every_caller() -> None:
    class Odd(Exception):
        def __init__(self, code: int, text: str) -> None:
            super().__init__(text)  # args no longer match __init__
            self.code = code

    gathering: Gathering[int, int] = Gathering(Recorder(fail=Odd(7, "odd")), most=10)
    got = await asyncio.gather(gathering(1), gathering(2), return_exceptions=True)
    assert [type(g) for g in got] == [RuntimeError, RuntimeError]
    assert all(str(g) == "Odd: odd" for g in got)
