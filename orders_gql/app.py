"""The composition root: create_app(settings) wires the Redis store, the
service and the GraphQL schema into a Starlette app with a lifespan."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .api.context import Context
from .api.schema import schema
from .api.view import OrdersGraphQL
from .eventstore.keys import KeySpace
from .eventstore.redis_store import RedisEventStore
from .live.emails import CustomerEmails
from .live.feeds import LiveFeeds
from .live.hub import LiveHub
from .live.log_tail import LogTail
from .service import OrderService
from .settings import Settings

log = logging.getLogger("orders_gql")

_CID_HEADER = b"x-correlation-id"


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
        cid = given if given and len(given) <= 64 and given.isprintable() else str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = cid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (_CID_HEADER, cid.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


@dataclass
class Components:
    settings: Settings
    redis: Redis
    store: RedisEventStore
    service: OrderService
    hub: LiveHub
    live: LiveFeeds


def build_components(settings: Settings) -> Components:
    if not settings.redis_url:
        raise ValueError("settings.redis_url is required (serve starts an embedded one)")
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
    store = RedisEventStore(redis, KeySpace(settings.key_prefix, settings.partitions))
    service = OrderService(
        store,
        snapshot_every=settings.snapshot_every,
        max_retries=settings.command_retries,
        idempotency_ttl=settings.idempotency_ttl,
    )
    emails = CustomerEmails(service.load)
    hub = LiveHub(LogTail(store), buffer_size=settings.subscription_buffer, on_event=emails.learn)
    live = LiveFeeds(hub, service, emails)
    return Components(
        settings=settings, redis=redis, store=store, service=service, hub=hub, live=live
    )


def create_app(settings: Settings) -> Starlette:
    parts = build_components(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.components = parts
        await parts.hub.start()
        try:
            yield
        finally:
            await parts.hub.stop()
            await parts.redis.aclose()

    graphql = OrdersGraphQL(
        schema,
        lambda cid: Context(service=parts.service, correlation_id=cid, live=parts.live),
        graphql_ide="graphiql" if settings.graphiql else None,
    )

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            await parts.redis.ping()
            checks["redis"] = "ok"
        except (RedisError, OSError) as exc:
            checks["redis"] = f"down: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def root(request: Request) -> Response:
        return RedirectResponse("/graphql")

    app = Starlette(
        routes=[
            Route("/", root),
            Route("/graphql", graphql),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(CorrelationIdMiddleware)
    app.state.components = parts
    return app
