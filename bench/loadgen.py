"""A small HTTP/1.1 keep-alive load generator, run in its own process so it
does not share the server's interpreter. Raw asyncio streams: cheap per request."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def post_request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
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


async def _client(
    host: str,
    port: int,
    make: Callable[[int], bytes],
    deadline: float,
    out: list[float],
    errors: list[int],
    check: bytes | None,
    offset: int,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    n = offset
    try:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            writer.write(make(n))
            n += 1
            status, body = await _read_response(reader)
            out.append(time.perf_counter() - started)
            if status != 200 or (check is not None and check not in body) or b'"errors"' in body:
                errors.append(status)
    finally:
        writer.close()


def _worker(args: tuple) -> tuple[list[float], int]:  # type: ignore[type-arg]
    host, port, path, bodies, headers, concurrency, seconds, check, index = args
    requests = [post_request(host, port, path, b, headers) for b in bodies]

    def make(n: int) -> bytes:
        return requests[n % len(requests)]

    async def main() -> tuple[list[float], int]:
        latencies: list[float] = []
        errors: list[int] = []
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(
                _client(host, port, make, deadline, latencies, errors, check, i * 7919 + index)
                for i in range(concurrency)
            )
        )
        return latencies, len(errors)

    return asyncio.run(main())


def run_load(
    url_host: str,
    port: int,
    bodies: list[dict[str, object]],
    *,
    path: str = "/graphql",
    concurrency: int = 32,
    seconds: float = 15.0,
    processes: int = 1,
    headers: dict[str, str] | None = None,
    check: bytes | None = None,
) -> LoadResult:
    """POST the bodies round-robin from `concurrency` connections for `seconds`."""
    encoded = [orjson.dumps(b) for b in bodies]
    per = max(1, concurrency // processes)
    jobs = [
        (url_host, port, path, encoded, headers or {}, per, seconds, check, i)
        for i in range(processes)
    ]
    started = time.monotonic()
    with mp.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(_worker, jobs)
    elapsed = time.monotonic() - started
    latencies = [x for part, _ in parts for x in part]
    errors = sum(e for _, e in parts)
    return LoadResult(len(latencies), errors, min(elapsed, seconds) or elapsed, latencies)
