"""The `orders-gql` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import signal
import sys
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import IO, Any, TypeVar

from .cli_demo import add_commands as add_demo_commands
from .cli_tools import CliError, add_data_dir, resolve_urls
from .cli_tools import add_commands as add_tool_commands
from .logs import configure as configure_logging
from .settings import Settings, SettingsError

T = TypeVar("T")

log = logging.getLogger("orders_gql")


@contextlib.contextmanager
def embedded_servers(settings: Settings) -> Iterator[Settings]:
    """Start embedded Redis/SecantusDB for the URLs that are not configured."""
    from .embedded import EmbeddedMongo, EmbeddedRedis, Server, Watchdog, free_port

    started: list[Server] = []
    watchdog: Watchdog | None = None
    playground = is_playground(settings)
    held = hold_data_dir(settings.data_dir) if needs_embedded(settings) else None
    try:
        if not settings.redis_url:
            redis = EmbeddedRedis(
                settings.data_dir / "redis", free_port(16379), settings.redis_appendfsync
            )
            redis.start()
            started.append(redis)
            settings = replace(settings, redis_url=redis.url)
            log.info(
                "embedded Redis-compatible server on %s (AOF in %s; try: redis-cli -p %d)",
                redis.url, redis.data_dir, redis.port,
            )  # fmt: skip
        if not settings.mongodb_url:
            mongo = EmbeddedMongo(settings.data_dir / "secantusdb", free_port(27117))
            mongo.start()
            started.append(mongo)
            settings = replace(settings, mongodb_url=mongo.url)
            log.info("embedded SecantusDB (MongoDB protocol) on %s", mongo.url)
        if playground:
            settings = replace(settings, auth="off")
            log.warning(
                "\n%s\n  AUTHENTICATION IS OFF: this is the local playground; every caller is "
                "an admin.\n  Set ORDERS_JWT_SECRET / ORDERS_JWKS_FILE / ORDERS_API_KEYS_FILE "
                "to require it.\n%s",
                "!" * 78,
                "!" * 78,
            )
        if started:
            (settings.data_dir / "servers.json").write_text(
                json.dumps({"redis_url": settings.redis_url, "mongodb_url": settings.mongodb_url})
            )
            watchdog = Watchdog(started)
            watchdog.start()
        yield settings
    finally:
        if watchdog is not None:
            watchdog.stop()
        if started:
            (settings.data_dir / "servers.json").unlink(missing_ok=True)
        for server in reversed(started):
            server.stop()
        if held is not None:
            held.close()  # the lock goes with it


def needs_embedded(settings: Settings) -> bool:
    """Whether `serve` starts servers of its own: a URL is not configured."""
    return not settings.redis_url or not settings.mongodb_url


def is_playground(settings: Settings) -> bool:
    """Embedded servers and no credentials: `serve` turns authentication off
    (every caller an admin), the local playground."""
    return needs_embedded(settings) and not settings.auth and not settings.has_credentials


def hold_data_dir(data_dir: Path) -> IO[str]:
    """The data folder for this process alone, while the returned file is
    open: two embedded Redis servers on one AOF folder would append to the
    same files (SecantusDB refuses a second opener itself, but only after the
    Redis one started). The lock is the kernel's (flock), so it goes with the
    process however that ends; the file names the holder's pid."""
    import fcntl  # POSIX, as the embedded servers

    data_dir.mkdir(parents=True, exist_ok=True)
    lock = open(data_dir / "serve.lock", "a+")  # noqa: SIM115 (held until closed)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "?"
        lock.close()
        raise CliError(
            f"{data_dir} is in use by another `orders-gql serve` (pid {holder}): stop it, "
            "or give this one a folder of its own with --data-dir"
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def port_number(text: str) -> int:
    """A TCP port to listen on, for argparse: uvicorn took 99999 and said it
    ran there."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number, 1-65535, not {text!r}")
    return port


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace) -> int:
    from .serving import server
    from .workers import serve_workers

    # uvicorn re-raises SIGTERM after its graceful shutdown; turn it into an
    # exception so the embedded servers below are stopped, not orphaned.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    if args.workers < 1:
        raise CliError("--workers must be 1 or more")
    settings = Settings.from_env()
    if args.data_dir:
        settings = replace(settings, data_dir=Path(args.data_dir))
    if args.no_projector:
        settings = replace(settings, projector=False)
    if is_playground(settings) and not _loopback(args.host):
        raise CliError(
            f"serve --host {args.host} with authentication off (the playground, as no "
            "credentials are set) would make anyone who reaches this machine an admin: set "
            "ORDERS_JWT_SECRET, ORDERS_JWKS_FILE or ORDERS_API_KEYS_FILE, or ORDERS_AUTH=off "
            "to mean it"
        )
    with embedded_servers(settings) as settings:
        base = f"http://{args.host}:{args.port}"
        log.info("GraphiQL at %s/graphql, the live order board at %s/board", base, base)
        if args.workers > 1:
            serve_workers(settings, args.host, args.port, args.workers)
        else:
            server(settings, args.host, args.port).run()
    return 0


def _loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it may resolve to anything
        return False


def _servers_settings(**overrides: object) -> Settings:
    """The configured servers, else those of a running `serve` (its servers.json);
    `overrides` (command-line flags; None: not given) as in Settings.from_env."""
    settings = resolve_urls(Settings.from_env(None, **overrides))
    if not settings.redis_url or not settings.mongodb_url:
        raise CliError(
            "set ORDERS_REDIS_URL and ORDERS_MONGODB_URL, or start `orders-gql serve` "
            "first: it records its embedded servers' URLs in "
            f"{settings.data_dir / 'servers.json'}"
        )
    return settings


def _run_as_served(main: Coroutine[Any, Any, T]) -> T:
    """Run a long-lived command as serve's projector process runs: on uvloop
    when it is installed, with the collector tuned (see serving.tune_gc). On
    asyncio's own loop and collector, a standalone projector took 70-78 us of
    CPU per new order at 2,300 creates/s; this way 60-62 us."""
    from .projector_thread import new_loop
    from .serving import tune_gc

    tune_gc()
    with asyncio.Runner(loop_factory=new_loop) as runner:
        return runner.run(main)


def cmd_project(args: argparse.Namespace) -> int:
    from .cli_readside import run_projector

    settings = _servers_settings(
        projector_metrics_port=args.metrics_port, projector_metrics_host=args.metrics_host
    )
    _run_as_served(run_projector(settings))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from .cli_readside import replay

    _run_as_served(replay(_servers_settings(), switch=not args.no_switch))
    return 0


def cmd_generations(args: argparse.Namespace) -> int:
    from .cli_readside import generations

    return asyncio.run(generations(_servers_settings(), args.action, args.generation))


def cmd_dead_letters(args: argparse.Namespace) -> int:
    from .cli_readside import dead_letters

    return asyncio.run(dead_letters(_servers_settings(), args.action, args.order))


def cmd_export_schema(args: argparse.Namespace) -> int:
    from .api.schema import schema

    sys.stdout.write(schema.as_str() + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orders-gql",
        description="GraphQL API for a shop's orders, on CQRS and event sourcing.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="serve the GraphQL API (embedded servers unless ORDERS_REDIS_URL/"
        "ORDERS_MONGODB_URL are set)",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port_number, default=8000)
    serve.add_argument("--data-dir", help="folder of the embedded servers' data")
    serve.add_argument(
        "--workers", type=int, default=1, help="API processes accepting on the one port"
    )
    serve.add_argument(
        "--no-projector", action="store_true", help="do not run the projector in this process"
    )
    serve.set_defaults(func=cmd_serve)

    project = sub.add_parser("project", help="run the projector alone (several may run)")
    add_data_dir(project)
    project.add_argument(
        "--metrics-port",
        type=int,
        help="serve Prometheus /metrics on this port (default ORDERS_PROJECTOR_METRICS_PORT; "
        "0: none)",
    )
    project.add_argument(
        "--metrics-host", help="address of /metrics (default ORDERS_PROJECTOR_METRICS_HOST)"
    )
    project.set_defaults(func=cmd_project)

    replay = sub.add_parser(
        "replay", help="rebuild the read models from the events into new collections, then switch"
    )
    replay.add_argument("--no-switch", action="store_true", help="build only; keep the current")
    add_data_dir(replay)
    replay.set_defaults(func=cmd_replay)

    generations = sub.add_parser(
        "generations", help="list the read models' generations, or drop ones no query reads"
    )
    generations.add_argument("action", choices=["list", "drop"])
    generations.add_argument("generation", nargs="*", help="the generations to drop")
    add_data_dir(generations)
    generations.set_defaults(func=cmd_generations)

    letters = sub.add_parser("dead-letters", help="list or retry the projector's dead letters")
    letters.add_argument("action", choices=["list", "retry"])
    letters.add_argument("--order", help="only this order id")
    add_data_dir(letters)
    letters.set_defaults(func=cmd_dead_letters)

    export = sub.add_parser("export-schema", help="print the GraphQL SDL")
    export.set_defaults(func=cmd_export_schema)
    add_tool_commands(sub)
    add_demo_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        env = Settings.from_env()
        configure_logging(env.log_level, env.log_format)
    except SettingsError as exc:
        print(f"orders-gql: {exc}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    if getattr(args, "data_dir", None):  # where a running serve recorded its servers
        os.environ["ORDERS_DATA_DIR"] = args.data_dir
    try:
        return int(args.func(args))
    except (CliError, SettingsError) as exc:
        print(f"orders-gql: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from pymongo.errors import PyMongoError

        from .embedded import EmbeddedServerError
        from .eventstore.connect import REDIS_ERRORS
        from .eventstore.redis_store import EventStoreUnavailable
        from .readside.store import ReadSideUnavailable

        if isinstance(exc, PyMongoError | ReadSideUnavailable):
            print(f"orders-gql: MongoDB unavailable: {_first_line(exc)}", file=sys.stderr)
            return 1
        if isinstance(exc, (EventStoreUnavailable, *REDIS_ERRORS)):
            print(f"orders-gql: Redis unavailable: {_first_line(exc)}", file=sys.stderr)
            return 1
        if isinstance(exc, EmbeddedServerError | OSError):
            print(f"orders-gql: {exc}", file=sys.stderr)
            return 1
        raise


def _first_line(exc: BaseException) -> str:
    """pymongo's messages carry the whole topology description after the cause."""
    return str(exc).split(", Timeout:")[0].splitlines()[0][:300]


if __name__ == "__main__":
    sys.exit(main())
