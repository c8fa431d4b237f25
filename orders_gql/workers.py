"""Several API processes behind one address: `orders-gql serve --workers N`
binds the port once and runs N server processes that accept on it (the kernel
spreads the connections). Each is a whole API process with its own log reader
and, unless --no-projector, its own projector in the shared consumer group.
A worker that dies is started again; SIGTERM/SIGINT stop them all gracefully
(each completes its subscriptions first)."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from multiprocessing.process import BaseProcess

import uvicorn

from .logs import configure as configure_logging
from .metrics import SHARED_DIR
from .settings import Settings

log = logging.getLogger("orders_gql")


def _worker(settings: Settings, host: str, port: int, sock: socket.socket) -> None:
    from .serving import server

    configure_logging(settings.log_level, settings.log_format)
    server(settings, host, port).run(sockets=[sock])


def serve_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    """Run `workers` API processes on host:port until SIGTERM or SIGINT."""
    sock = uvicorn.Config("orders_gql.serving:app_from_env", host=host, port=port).bind_socket()
    # Every process (workers, their projectors) writes its metrics here, and
    # whichever worker is scraped answers for all: set before they start.
    metrics_dir = tempfile.mkdtemp(prefix="orders-gql-metrics-")
    os.environ[SHARED_DIR] = metrics_dir
    context = multiprocessing.get_context("spawn")
    running: list[BaseProcess] = []

    def start() -> BaseProcess:
        proc = context.Process(
            target=_worker, args=(settings, host, port, sock), name="orders-gql-worker"
        )
        proc.start()
        return proc

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        running = [start() for _ in range(workers)]
        log.info("%d API processes on http://%s:%d", workers, host, port)
        while not stopping:
            for i, proc in enumerate(running):
                if not proc.is_alive():
                    log.warning("API process %s exited with %s; starting another",
                                proc.pid, proc.exitcode)  # fmt: skip
                    _forget_metrics_of(proc, metrics_dir)
                    running[i] = start()
            time.sleep(0.2)
    finally:
        for proc in running:
            if proc.is_alive() and proc.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()  # SIGTERM: a graceful shutdown
        for proc in running:
            proc.join(15)
            if proc.is_alive():
                proc.kill()
                proc.join()
        sock.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
        os.environ.pop(SHARED_DIR, None)
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _forget_metrics_of(proc: BaseProcess, metrics_dir: str) -> None:
    """Its counters stay counted; its live gauges (subscribers) go."""
    from prometheus_client import multiprocess

    if proc.pid is not None:
        multiprocess.mark_process_dead(proc.pid, metrics_dir)  # type: ignore[no-untyped-call]
