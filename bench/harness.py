"""Servers and processes for the benchmarks, started fresh for each run."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from orders_gql.embedded import EmbeddedMongo, EmbeddedRedis, free_port
from orders_gql.settings import Settings


@dataclass
class Row:
    """One line of the result table."""

    scenario: str
    figure: str
    value: float
    unit: str
    limit_name: str = ""
    limit: float | None = None
    target: str = ""
    extra: dict[str, float] = field(default_factory=dict)
    #: The target holds for the figure itself, not for the ratio.
    absolute: bool = False

    @property
    def ratio(self) -> float | None:
        if self.limit in (None, 0):
            return None
        return self.value / self.limit  # type: ignore[operator]

    def meets(self) -> bool | None:
        """Whether the target (e.g. '>= 0.4', '<= 1.2', '> 1000') is met."""
        if not self.target:
            return None
        op, _, number = self.target.partition(" ")
        subject = self.value if self.absolute or self.limit is None else self.ratio
        if subject is None:
            return None
        goal = float(number.replace(",", ""))
        return {
            ">=": subject >= goal,
            ">": subject > goal,
            "<=": subject <= goal,
            "<": subject < goal,
        }[op]


#: port -> pid of the `serve` processes started by api_server
SERVER_PIDS: dict[int, int] = {}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU seconds all cores spent busy so far: user, nice, system, irq and
    softirq of /proc/stat's first line (Linux), not idle, I/O wait or steal."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ExternalMongo:
    """A MongoDB the bench did not start (`--mongodb-url`), e.g. compose.yaml's mongod."""

    url: str
    proc: None = None


@dataclass
class Servers:
    redis: EmbeddedRedis
    mongo: EmbeddedMongo | ExternalMongo | None
    #: The MongoDB databases handed out, dropped at the end on an external server.
    databases: set[str] = field(default_factory=set)

    def db(self, space: str) -> str:
        """The MongoDB database of a data space: named so that it cannot be
        one of a shared server's own."""
        name = f"orders_bench_{space}"
        self.databases.add(name)
        return name

    def env(self, space: str = "orders", **extra: str) -> dict[str, str]:
        """Environment of a server process on the data space `space` (its own
        Redis key prefix and MongoDB database, so scenarios do not mix)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERS_")}
        env.update(
            ORDERS_REDIS_URL=self.redis.url,
            ORDERS_AUTH="off",
            ORDERS_LOG_LEVEL="warning",
            ORDERS_KEY_PREFIX=space,
            ORDERS_MONGODB_DB=self.db(space),
        )
        if self.mongo is not None:
            env["ORDERS_MONGODB_URL"] = self.mongo.url
        env.update(extra)
        return env

    def settings(self, space: str = "orders", **overrides: object) -> Settings:
        return Settings.from_env(self.env(space), **overrides)


@contextlib.contextmanager
def servers(
    workdir: Path, *, mongo: bool = True, appendfsync: str = "everysec", mongo_url: str = ""
) -> Iterator[Servers]:
    """A fresh Redis, and a fresh SecantusDB unless `mongo_url` names a
    MongoDB to use (whose bench databases are dropped at the end)."""
    redis = EmbeddedRedis(workdir / "redis", appendfsync=appendfsync)
    redis.start()
    db: EmbeddedMongo | ExternalMongo | None = None
    if mongo_url:
        db = ExternalMongo(mongo_url)
    elif mongo:
        db = EmbeddedMongo(workdir / "mongo")
    srv = Servers(redis, db)
    try:
        if isinstance(db, EmbeddedMongo):
            db.start()
        yield srv
    finally:
        if isinstance(db, EmbeddedMongo):
            db.stop()
        elif isinstance(db, ExternalMongo):
            _drop(db.url, srv.databases)
        redis.stop()


def _drop(url: str, databases: set[str]) -> None:
    client: MongoClient[Any] = MongoClient(url)
    try:
        for name in sorted(databases):
            client.drop_database(name)
    finally:
        client.close()


@contextlib.contextmanager
def process(
    args: list[str], env: dict[str, str], log: Path, module: str = "orders_gql"
) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args], env=env, stdout=out, stderr=out
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def api_server(
    srv: Servers, workdir: Path, *extra_args: str, space: str = "orders", **env: str
) -> Iterator[int]:
    """`orders-gql serve` against the given servers; yields its port once healthy."""
    port = free_port()
    args = ["serve", "--port", str(port), *extra_args]
    with process(args, srv.env(space, **env), workdir / f"serve-{port}.log") as proc:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited: see {workdir}/serve-{port}.log")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        SERVER_PIDS[port] = proc.pid
        yield port


@contextlib.contextmanager
def projector_process(srv: Servers, workdir: Path, space: str) -> Iterator[None]:
    """`orders-gql project` in its own process."""
    with process(["project"], srv.env(space), workdir / f"project-{space}.log"):
        yield


def graphql(port: int, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """One GraphQL request; raises on errors."""
    reply = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": query, "variables": variables or {}},
        timeout=30,
    ).json()
    if reply.get("errors"):
        raise RuntimeError(f"GraphQL errors: {reply['errors']}")
    return dict(reply["data"])
