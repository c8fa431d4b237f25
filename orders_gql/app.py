"""The composition root: create_app(settings) wires the Redis store, the
service and the GraphQL schema into a Starlette app with a lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from pymongo import AsyncMongoClient
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .api.auth import Authenticator
from .api.context import Context
from .api.limits import Limits
from .api.schema import build_schema
from .api.view import OrdersGraphQL
from .board import board_page
from .domain.ids import random_uuid
from .eventstore.connect import REDIS_OR_OS_ERRORS, AnyRedis, connect, is_cluster
from .eventstore.keys import KeySpace
from .eventstore.redis_store import RedisEventStore
from .live.emails import CustomerEmails
from .live.feeds import LiveFeeds
from .live.hub import LiveHub
from .live.log_tail import LogTail
from .logs import correlation_id
from .metrics import SUBSCRIBERS
from .metrics import scrape as scrape_metrics
from .projector_process import ProjectorProcess
from .projector_thread import ProjectorThread
from .readside.deadletters import DeadLetters
from .readside.facade import ReadSide
from .readside.keys import ProjectorKeys
from .readside.mongo import mongo_client
from .readside.projector import Projector, ProjectorConfig
from .readside.store import ReadSideUnavailable, ReadStore
from .service import OrderService
from .settings import Settings

log = logging.getLogger("orders_gql")

_CID_HEADER = b"x-correlation-id"


class BodyLimitMiddleware:
    """Refuse request bodies over `limit` bytes with HTTP 413, before reading them whole."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        cid = scope.get("state", {}).get("correlation_id", "")
        body = orjson.dumps(
            {
                "errors": [
                    {
                        "message": f"request body is larger than {self.limit} bytes",
                        "extensions": {"code": "PAYLOAD_TOO_LARGE", "correlationId": cid},
                    }
                ]
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


class CorrelationIdMiddleware:
    """Gives every request a correlation id (the client's X-Correlation-ID if
    sane, else a new one) and returns it in the response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(_CID_HEADER, b"").decode("latin-1")
        cid = given if given and len(given) <= 64 and given.isprintable() else random_uuid()
        scope.setdefault("state", {})["correlation_id"] = cid
        correlation_id.set(cid)
        if scope["type"] == "websocket":  # no response header to add to each message sent
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (_CID_HEADER, cid.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


@dataclass
class Components:
    settings: Settings
    redis: AnyRedis
    store: RedisEventStore
    service: OrderService
    hub: LiveHub
    live: LiveFeeds
    mongo: AsyncMongoClient[Any] | None = None
    read_side: ReadSide | None = None

    def projector(self) -> Projector:
        """A projector process-member of the consumer group (needs MongoDB)."""
        assert self.read_side is not None, "the projector needs ORDERS_MONGODB_URL"
        s = self.settings
        config = ProjectorConfig(
            batch_size=s.projector_batch,
            claim_idle_ms=s.projector_claim_idle_ms,
            max_attempts=s.projector_max_attempts,
            block_ms=min(1000, max(10, s.projector_claim_idle_ms // 2)),
        )
        rs = self.read_side
        return Projector(self.redis, rs.store, self.store, rs.keys, config)

    async def open(self) -> None:
        """Learn a cluster's slot map before the first commands: redis-py 8.1
        routes keyed commands issued before it knows the map to any node, and
        the MOVED replies make it close every connection, in use or not."""
        if is_cluster(self.redis):
            await self.redis.initialize()

    async def aclose(self) -> None:
        await self.store.aclose()
        if self.mongo is not None:
            await self.mongo.close()
        await self.redis.aclose()


def build_components(settings: Settings) -> Components:
    if not settings.redis_url:
        raise ValueError("settings.redis_url is required (serve starts an embedded one)")
    redis = connect(
        settings.redis_url,
        cluster=settings.redis_cluster,
        max_connections=settings.redis_max_connections,
    )
    store = RedisEventStore(
        redis,
        KeySpace(settings.key_prefix, settings.partitions),
        wait_replicas=settings.redis_wait_replicas,
        wait_timeout_ms=settings.redis_wait_timeout_ms,
    )
    service = OrderService(
        store,
        snapshot_every=settings.snapshot_every,
        max_retries=settings.command_retries,
        idempotency_ttl=settings.idempotency_ttl,
        recent_states=settings.recent_states,
    )
    emails = CustomerEmails(service.load)
    hub = LiveHub(
        LogTail(store),
        buffer_size=settings.subscription_buffer,
        on_event=emails.learn,
        on_subscribers=SUBSCRIBERS.set,
    )
    live = LiveFeeds(hub, service, emails)
    parts = Components(
        settings=settings,
        redis=redis,
        store=store,
        service=service,
        hub=hub,
        live=live,
    )
    if settings.mongodb_url:
        parts.mongo = mongo_client(settings.mongodb_url, settings.mongodb_timeout_ms)
        read_store = ReadStore(parts.mongo, settings.mongodb_db)
        keys = ProjectorKeys(store.keys, settings.projector_group)
        parts.read_side = ReadSide(
            store=read_store,
            redis=redis,
            keys=keys,
            dead_letters=DeadLetters(redis, keys, read_store, store),
            consistency_timeout=settings.consistency_timeout_ms / 1000,
            query_time_limit_ms=settings.query_time_limit_ms,
        )
    return parts


def authenticator_for(settings: Settings) -> Authenticator:
    """Only the API authenticates; it refuses to start unconfigured (see Settings)."""
    return Authenticator.from_files(
        enabled=settings.auth_enabled,
        jwt_secret=settings.jwt_secret,
        jwks_file=settings.jwks_file,
        api_keys_file=settings.api_keys_file,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


def create_app(settings: Settings) -> Starlette:
    authenticator = authenticator_for(settings)
    parts = build_components(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.components = parts
        with contextlib.suppress(*REDIS_OR_OS_ERRORS):  # else learnt on first use
            await parts.open()
        stop = asyncio.Event()
        task = thread = None
        if settings.projector and parts.read_side is not None:
            if settings.projector_mode == "process":
                app.state.projector_process = ProjectorProcess(settings)
                app.state.projector_process.start()
            elif settings.projector_mode == "thread":
                thread = ProjectorThread(lambda: build_components(settings))
                thread.start()
            else:
                task = asyncio.create_task(parts.projector().run(stop), name="projector")
        await parts.hub.start()
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(task, 5)  # it ends after its current batch
            if thread is not None:
                await thread.stop(5)
            if app.state.projector_process is not None:
                await app.state.projector_process.stop(5)
            await parts.hub.stop()
            await parts.aclose()

    limits = Limits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        max_fields=settings.max_fields,
        introspection=settings.introspection,
    )
    graphql = OrdersGraphQL(
        build_schema(limits),
        lambda cid: Context(
            service=parts.service, read_side=parts.read_side, correlation_id=cid, live=parts.live
        ),
        authenticator,
        graphql_ide="graphiql" if settings.graphiql else None,
    )

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            await parts.redis.ping()
            checks["redis"] = "ok"
        except REDIS_OR_OS_ERRORS as exc:
            checks["redis"] = f"down: {type(exc).__name__}"
        if parts.read_side is not None:
            try:
                await parts.read_side.store.ping()
                checks["mongodb"] = "ok"
            except ReadSideUnavailable:
                checks["mongodb"] = "down"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        keys = parts.read_side.keys if parts.read_side is not None else None
        if app.state.projector_process is not None:
            app.state.projector_process.report()
        body, content_type = await scrape_metrics(parts.redis, keys)
        return Response(body, media_type=content_type)

    async def root(request: Request) -> Response:
        return RedirectResponse("/graphql")

    app = Starlette(
        routes=[
            Route("/", root),
            Route("/graphql", graphql),
            WebSocketRoute("/graphql", graphql),
            Route("/board", board_page),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Mount("/static", StaticFiles(packages=[("orders_gql", "static")]), name="static"),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(CorrelationIdMiddleware)
    if settings.allowed_origins:  # outermost: preflights are answered before the rest
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Correlation-ID"],
            expose_headers=["X-Correlation-ID"],
            max_age=600,
        )
    app.state.components = parts
    app.state.projector_process = None
    return app
