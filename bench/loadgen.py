"""A small HTTP/1.1 keep-alive load generator, run in its own process(es) so it
does not share the server's interpreter. Raw asyncio streams on uvloop: cheap
per request, so the server under test gets the CPU.

Each client sends its own sequence of bodies in order (so a client can walk
orders through their status flow), either as fast as answers come (closed
loop) or paced to a total rate (open loop: a late request goes at once)."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from dataclasses import dataclass, field

import orjson

_POSITION = b'"position":"'


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    #: (log position, wall-clock time the answer arrived) when positions were asked for
    positions: list[tuple[str, float]] = field(default_factory=list)
    #: wall-clock time of the last answer
    last_answer: float = 0.0
    first_error: str = ""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)


def merged(results: list[LoadResult]) -> LoadResult:
    """Rounds of one load as one: their requests over their seconds."""
    return LoadResult(
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
        seconds=sum(r.seconds for r in results),
        latencies=[x for r in results for x in r.latencies],
        first_error=next((r.first_error for r in results if r.first_error), ""),
    )


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def post_request(host: str, port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length)
    return status, body


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    positions: list[tuple[str, float]] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    last_answer: float = 0.0


async def _client(
    host: str,
    port: int,
    requests: list[bytes],
    deadline: float,
    tally: _Tally,
    check: bytes | None,
    interval: float | None,
    start_at: float,
    want_positions: bool,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    n = 0
    due = start_at
    try:
        while time.monotonic() < deadline:
            if interval is not None:
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                due += interval
            started = time.perf_counter()
            writer.write(requests[n % len(requests)])
            n += 1
            status, body = await _read_response(reader)
            tally.latencies.append(time.perf_counter() - started)
            tally.last_answer = time.time()
            if status != 200 or (check is not None and check not in body) or b'"errors"' in body:
                tally.errors += 1
                tally.first_error = tally.first_error or f"{status} {body[:300]!r}"
            elif want_positions:
                at = body.find(_POSITION)
                if at >= 0:
                    end = body.index(b'"', at + len(_POSITION))
                    tally.positions.append(
                        (body[at + len(_POSITION) : end].decode(), tally.last_answer)
                    )
    finally:
        writer.close()


def _worker(args: tuple) -> _Tally:  # type: ignore[type-arg]
    host, port, path, sequences, seconds, check, rate, want_positions = args
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass

    async def main() -> _Tally:
        tally = _Tally()
        now = time.monotonic()
        deadline = now + seconds
        count = len(sequences)
        interval = count / rate if rate else None
        await asyncio.gather(
            *(
                _client(
                    host,
                    port,
                    [post_request(host, port, path, b) for b in seq],
                    deadline,
                    tally,
                    check,
                    interval,
                    now + (i * interval / count if interval else 0),
                    want_positions,
                )
                for i, seq in enumerate(sequences)
            )
        )
        return tally

    return asyncio.run(main())


def run_load(
    host: str,
    port: int,
    bodies: list[dict[str, object]] | list[list[dict[str, object]]],
    *,
    path: str = "/graphql",
    concurrency: int = 32,
    seconds: float = 15.0,
    processes: int = 1,
    check: bytes | None = None,
    rate: float | None = None,
    positions: bool = False,
) -> LoadResult:
    """POST from `concurrency` keep-alive connections for `seconds`.

    `bodies` is either one list the clients share round-robin (each starting
    at a different offset) or one list per client, sent in order. `rate`
    paces the total; `positions` collects each answer's `"position"`."""
    if bodies and isinstance(bodies[0], list):
        per_client = [[orjson.dumps(b) for b in seq] for seq in bodies]  # type: ignore[union-attr]
    else:
        shared = [orjson.dumps(b) for b in bodies]
        per_client = [
            shared[(i * 7919) % len(shared) :] + shared[: (i * 7919) % len(shared)]
            for i in range(concurrency)
        ]
    jobs = [
        (
            host,
            port,
            path,
            per_client[i::processes],
            seconds,
            check,
            rate / processes if rate else None,
            positions,
        )
        for i in range(processes)
    ]
    started = time.monotonic()
    with mp.get_context("spawn").Pool(processes) as pool:
        parts: list[_Tally] = pool.map(_worker, jobs)
    elapsed = time.monotonic() - started
    return LoadResult(
        requests=sum(len(p.latencies) for p in parts),
        errors=sum(p.errors for p in parts),
        seconds=min(elapsed, seconds) or elapsed,
        latencies=[x for p in parts for x in p.latencies],
        positions=sorted((x for p in parts for x in p.positions), key=lambda x: x[1]),
        last_answer=max(p.last_answer for p in parts),
        first_error=next((p.first_error for p in parts if p.first_error), ""),
    )
