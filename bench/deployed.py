"""createOrder as deployed by default (`orders-gql serve`, its projector in a
process of its own, which serve starts): the full rate, the lag after a burst
at that rate until the lists and the summary count every order, and the
append-to-visible lag at half that rate."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from pymongo import MongoClient
from redis import Redis

from orders_gql.readside.positions import key as position_key

from .harness import (
    SERVER_PIDS,
    Row,
    Servers,
    api_server,
    cpu_seconds,
    graphql,
    machine_cpu_seconds,
)
from .loadgen import LoadResult, percentile, run_load
from .write_side import TYPENAME, create_body, latency_extra, warm

COUNTS = "{ orders { totalCount } orderSummary { totalOrders } }"
SUMMARY = "{ orderSummary { totalOrders } }"


def deployed(srv: Servers, workdir: Path, seconds: float) -> list[Row]:
    space = "d"
    bodies = [create_body(n) for n in range(1000)]
    log = f"{space}:{{p0}}:log"
    rows: list[Row] = []
    with api_server(srv, workdir, space=space) as port:
        # Not a limit (the target is absolute), but how fast this machine is
        # in the same run, so that rows from other machines compare by it;
        # taken before any order exists, with the projector idle.
        warm(port, [TYPENAME])
        typename = run_load("127.0.0.1", port, [TYPENAME], seconds=3.0)
        warm(port, bodies)
        api = SERVER_PIDS[port]
        pids = {"api": api, "redis": _pid(srv.redis)}
        if srv.mongo is not None and srv.mongo.proc is not None:  # not on an external server
            pids["mongo"] = _pid(srv.mongo)
        for projector in _spawned_by(api):  # serve's projector process
            pids["projector"] = projector
        before, ops = _cpu(pids), _mongo_ops(srv)
        burst = run_load("127.0.0.1", port, bodies, seconds=seconds, check=b"OrderPayload")
        used = _cpu(pids, since=before)
        per_order = _per_order(used, burst.requests) | _ops_per_order(srv, ops, burst.requests)
        rows.append(
            Row(
                "createOrder over HTTP as deployed (serve, its projector process), 32 clients",
                "mutations/s",
                burst.rate,
                "/s",
                target="> 1000",
                extra=latency_extra(burst)
                | per_order
                | {"typename_per_s_same_server": typename.rate},
            )
        )
        before = _cpu(pids)
        lag = _burst_lag(srv, port, log, burst, seconds)
        lag.extra |= {f"catch_up_cpu_{k}_s": v for k, v in _cpu(pids, since=before).items()}
        rows.append(lag)
        half = burst.rate / 2
        with _GroupWatch(srv.redis.url, log) as watch:
            before, ops = _cpu(pids), _mongo_ops(srv)
            steady = run_load(
                "127.0.0.1", port, bodies, seconds=seconds, check=b"OrderPayload",
                rate=half, positions=True,
            )  # fmt: skip
            used = _cpu(pids, since=before)
            per_order = _per_order(used, steady.requests) | _ops_per_order(
                srv, ops, steady.requests
            )
            time.sleep(1.0)
        lags = watch.lags(steady)
        rows.append(
            Row(
                f"lag at half the full rate ({half:,.0f}/s), append -> visible, p99",
                "ms",
                percentile(lags, 0.99) * 1000,
                "ms",
                target="<= 100",
                extra={
                    "p50_ms": percentile(lags, 0.5) * 1000,
                    "rate_per_s": steady.rate,
                    "never_visible": len(steady.positions) - len(lags),
                    "read_every_ms": WATCH_INTERVAL * 1000,  # each lag up to this much late
                }
                # what bounds it: each process's CPU, SecantusDB's share of its
                # one core, and how many of the machine's cores were busy
                | per_order
                | ({"mongo_core_busy": used["mongo"] / seconds} if "mongo" in used else {})
                | {"machine_cores_busy": used["machine"] / seconds},
            )
        )
    return rows


def _mongo_ops(srv: Servers) -> int | None:
    """MongoDB's operations so far (`serverStatus` opcounters: inserts,
    queries, updates, deletes, and commands such as commits; SecantusDB counts
    an insert per command, MongoDB per document), on a server of the bench's
    own; None on an external one, which other clients may share."""
    if srv.mongo is None or srv.mongo.proc is None:
        return None
    with MongoClient(srv.mongo.url) as client:
        counters = client.admin.command("serverStatus")["opcounters"]
    return sum(int(counters[k]) for k in ("insert", "query", "update", "delete", "command"))


def _ops_per_order(srv: Servers, since: int | None, orders: int) -> dict[str, float]:
    """MongoDB operations per order `since` a first count: the projection's
    batches and folds, whose number follows the rate rather than the orders."""
    now = _mongo_ops(srv)
    if now is None or since is None:
        return {}
    return {"mongo_ops_per_order": (now - since) / max(1, orders)}


def _cpu(pids: dict[str, int], since: dict[str, float] | None = None) -> dict[str, float]:
    """CPU seconds each process, and the whole machine (`machine`: the load
    generator and the benchmark too), used in all, or `since` a first reading."""
    now = {k: cpu_seconds(p) for k, p in pids.items()} | {"machine": machine_cpu_seconds()}
    return {k: v - (since or {}).get(k, 0.0) for k, v in now.items()}


def _per_order(used: dict[str, float], orders: int) -> dict[str, float]:
    return {f"cpu_{k}_ms_per_order": 1000 * v / max(1, orders) for k, v in used.items()}


def _spawned_by(parent: int) -> list[int]:
    """The processes `parent` started with multiprocessing (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            spawned = b"spawn_main" in (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # not a process, or gone meanwhile
        if ppid == parent and spawned:
            found.append(int(entry.name))
    return found


def _pid(server: object) -> int:
    proc = getattr(server, "proc", None)
    assert proc is not None
    return int(proc.pid)


def _burst_lag(srv: Servers, port: int, log: str, burst: LoadResult, seconds: float) -> Row:
    """Seconds from the burst's last answer until both counts include every order."""
    expected = int(Redis.from_url(srv.redis.url).xlen(log))
    deadline = time.time() + 300
    lag = float("nan")
    # Polls the summary (one document) every 20 ms, and totalCount (a count of
    # every order, which would slow the projection down) only once it is there.
    while time.time() < deadline:
        if graphql(port, SUMMARY)["orderSummary"]["totalOrders"] >= expected:
            data = graphql(port, COUNTS)
            if min(data["orders"]["totalCount"], data["orderSummary"]["totalOrders"]) >= expected:
                lag = time.time() - burst.last_answer
                break
        time.sleep(0.02)
    return Row(
        f"lag after a {seconds:g} s burst at full rate: until orders/orderSummary count all",
        "s",
        lag,
        "s",
        target="<= 1",
        extra={"orders": expected},
    )


#: Seconds between two polls of the consumer group: each lag is read up to
#: this much late. Polling costs CPU on the two cores that the servers it
#: measures share: timed alone for 10 s, every 2 ms (as before) the watch
#: took 0.17 of a core and Redis 0.03 more; every 10 ms, 0.06 and 0.01.
WATCH_INTERVAL = 0.010


class _GroupWatch:
    """Polls the projector's consumer group every WATCH_INTERVAL: an entry is
    visible once acknowledged, which happens after its MongoDB transaction
    committed (the same test `consistentWith` makes)."""

    def __init__(self, url: str, log: str) -> None:
        self.redis = Redis.from_url(url)
        self.log = log
        self.samples: list[tuple[float, tuple[int, int], tuple[int, int] | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _GroupWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            pipe = self.redis.pipeline(transaction=False)
            pipe.xinfo_groups(self.log)
            pipe.xpending(self.log, "projector")
            groups, pending = pipe.execute()
            now = time.time()
            group = next(g for g in groups if g["name"] in (b"projector", "projector"))
            low = pending["min"]
            self.samples.append(
                (
                    now,
                    position_key(_s(group["last-delivered-id"])),
                    position_key(_s(low)) if low is not None else None,
                )
            )
            time.sleep(WATCH_INTERVAL)

    def lags(self, result: LoadResult) -> list[float]:
        """Per answered mutation: first sample where it was acknowledged, minus
        its append time (the stream id's milliseconds, from the same clock)."""
        lags = []
        i = 0  # positions in order become visible in order: one pass over the samples
        for k in sorted(position_key(p) for p, _ in result.positions):
            while i < len(self.samples):
                at, delivered, low = self.samples[i]
                if delivered >= k and (low is None or low > k):
                    lags.append(max(0.0, at - k[0] / 1000))
                    break
                i += 1
        return lags


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
