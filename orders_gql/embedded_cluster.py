"""A local Redis Cluster for the tests and the scaling benchmark: N masters
(and R replicas each) on free loopback ports, the same server binary as the
embedded Redis, joined by its own `--cluster create`. Stops what it started."""

from __future__ import annotations

import random
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from redis import Redis
from redis.crc import REDIS_CLUSTER_HASH_SLOTS
from redis.exceptions import RedisError

from .embedded import EmbeddedRedis, EmbeddedServerError, redis_binary


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_cluster_port() -> int:
    """A free port whose bus port (port + 10000) is free too."""
    for _ in range(200):
        port = random.randint(20_000, 45_000)
        if _free(port) and _free(port + 10_000):
            return port
    raise EmbeddedServerError("no free port pair for a cluster node")  # pragma: no cover


class ClusterNode(EmbeddedRedis):
    name = "cluster-node"

    def __init__(self, data_dir: Path, node_timeout_ms: int) -> None:
        super().__init__(data_dir, free_cluster_port(), appendfsync="everysec")
        self.node_timeout_ms = node_timeout_ms

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            *super().command(),
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(self.node_timeout_ms),
            # A master streams a replica's full resync at once, instead of
            # waiting 5 s for more replicas to share it (each has one at most).
            "--repl-diskless-sync-delay", "0",
        ]  # fmt: skip

    def client(self) -> Redis:
        return Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=1)


def cli_binary() -> str:
    """The redis-cli (or valkey-cli) beside the server binary, else on PATH."""
    server = Path(redis_binary())
    for name in (server.name.replace("-server", "-cli"), "redis-cli", "valkey-cli"):
        beside = server.parent / name
        if beside.exists():
            return str(beside)
        found = shutil.which(name)
        if found:
            return found
    raise EmbeddedServerError("no redis-cli or valkey-cli to create the cluster with")


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; EmbeddedServerError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise EmbeddedServerError(f"{what}: not within {timeout:g}s")
        time.sleep(0.05)


class EmbeddedCluster:
    """`masters` masters with `replicas` replicas each, slots spread evenly."""

    def __init__(
        self, data_dir: Path, masters: int = 3, replicas: int = 0, node_timeout_ms: int = 1000
    ) -> None:
        count = masters * (1 + replicas)
        self.replicas = replicas
        self.nodes = [
            ClusterNode(Path(data_dir) / f"node{i}", node_timeout_ms) for i in range(count)
        ]

    @property
    def url(self) -> str:
        """A seed node's URL: the client discovers the others."""
        return self.live_nodes()[0].url

    def live_nodes(self) -> list[ClusterNode]:
        return [n for n in self.nodes if n.proc is not None and n.proc.poll() is None]

    def start(self, timeout: float = 180.0) -> None:
        try:
            for node in self.nodes:
                node.start()
            if len(self.nodes) >= 3:
                subprocess.run(
                    [cli_binary(), "--cluster", "create", *(n.address for n in self.nodes),
                     "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                    check=True, capture_output=True, timeout=timeout,
                )  # fmt: skip
            else:  # `--cluster create` wants three masters: one or two get their slots here
                self._assign_slots()
            wait_for(self.is_healthy, timeout, "the cluster did not become healthy")
        except BaseException:
            self.stop()
            raise

    def _assign_slots(self) -> None:
        if self.replicas:
            raise EmbeddedServerError("replicas need three masters or more")
        first = self.nodes[0]
        for i, node in enumerate(self.nodes):
            low = i * REDIS_CLUSTER_HASH_SLOTS // len(self.nodes)
            high = (i + 1) * REDIS_CLUSTER_HASH_SLOTS // len(self.nodes) - 1
            with node.client() as c:
                c.execute_command("CLUSTER", "ADDSLOTSRANGE", low, high)
                if node is not first:
                    c.execute_command("CLUSTER", "MEET", "127.0.0.1", first.port)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def masters(self) -> list[ClusterNode]:
        """The live nodes that serve slots now."""
        serving = self._serving()
        return [n for n in self.live_nodes() if n.port in serving]

    def is_healthy(self) -> bool:
        """Every live node sees all slots served, and every replica is in sync:
        up on its side, and online on its master's (which streams writes to a
        replica only once it acknowledged its resync)."""
        try:
            for node in self.live_nodes():
                with node.client() as c:
                    if c.cluster("info").get("cluster_state") != "ok":
                        return False
                    repl = c.info("replication")
                    if repl.get("role") == "slave" and repl.get("master_link_status") != "up":
                        return False
                    replicas = [v for k, v in repl.items() if re.fullmatch(r"slave\d+", k)]
                    if any(not isinstance(r, dict) or r.get("state") != "online" for r in replicas):
                        return False
        except RedisError:
            return False
        return True

    def _serving(self) -> set[int]:
        """Ports of the masters that hold slots, as a live node sees it."""
        with self.live_nodes()[0].client() as c:
            raw = c.execute_command("CLUSTER", "NODES")
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        serving: set[int] = set()
        for line in text.splitlines():
            parts = line.split()
            if "master" in parts[2].split(",") and len(parts) > 8:
                serving.add(int(parts[1].split("@")[0].rsplit(":", 1)[1]))
        return serving

    def kill(self, node: ClusterNode) -> None:
        """SIGKILL a node: a crash."""
        node.kill()

    def wait_for_failover(self, killed: ClusterNode, timeout: float = 30.0) -> None:
        """Wait until a replica took over the killed master's slots."""

        def promoted() -> bool:
            try:
                return killed.port not in self._serving() and self.is_healthy()
            except RedisError:
                return False

        wait_for(promoted, timeout, f"no replica took over from {killed.address}")

    def __enter__(self) -> EmbeddedCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
