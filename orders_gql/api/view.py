"""The GraphQL HTTP/websocket view: context per request, typed error responses,
correlation ids, and no internals leaked to clients."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import AsyncGenerator, Callable, Mapping
from importlib.resources import files
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import (
    ArgumentNode,
    GraphQLError,
    ListValueNode,
    ObjectValueNode,
    ValueNode,
    Visitor,
    parse,
    visit,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError, StrawberryGraphQLError
from strawberry.http.exceptions import NonJsonMessageReceived, WebSocketDisconnected
from strawberry.http.parse_content_type import parse_content_type
from strawberry.types import ExecutionResult

from .auth import AuthenticationFailed, Authenticator
from .context import Context
from .limits import LIMIT_CODES

log = logging.getLogger("orders_gql.api")
_ALLOW = {"Allow": "GET, POST"}  # GET for queries and GraphiQL, POST for everything

_VARIABLE = re.compile(r"Variable '\$(\w+)' (?:has|got) invalid value(?: at ([^:\s]+))?")
_REQUIRED = re.compile(r"required field '(\w+)'")
_ARGUMENT = re.compile(r"[Aa]rgument '(\w+)'")
_FIELD = re.compile(r"[Ff]ield '(\w+)'")
_INDEX = re.compile(r"\[(\d+)\]")
#: graphql-core echoes the whole input object it refuses ("..., found: {...}").
_FOUND = re.compile(r", found: .*$", re.S)
#: How graphql-core words a value it refuses, in a variable or in the document.
_BAD_VALUE = ("cannot represent", "Expected value of ", "' enum.")


def correlation_id_of(scope: Scope) -> str:
    return str(scope.get("state", {}).get("correlation_id", ""))


def _field_of(message: str) -> str | None:
    """The input path a GraphQL error is about, e.g. `input.items.0.quantity`."""
    variable = _VARIABLE.match(message)
    if variable:
        path = variable.group(1) + (variable.group(2) or "")
        required = _REQUIRED.search(message)
        if required:
            path += "." + required.group(1)
        return _INDEX.sub(r".\1", path)
    for pattern in (_ARGUMENT, _FIELD):
        found = pattern.search(message)
        if found:
            return found.group(1)
    return None


def _literal_path(error: GraphQLError) -> str | None:
    """The argument path of a value written in the document that was refused
    (`input.items.0.quantity`), found by its place in the document's text."""
    node = error.nodes[0] if error.nodes else None
    if node is None or node.loc is None or error.source is None:
        return None
    try:
        document = parse(error.source)
    except GraphQLError:
        return None
    where = (node.loc.start, node.loc.end)

    def walk(value: ValueNode, path: str) -> str | None:
        if value.loc is not None and (value.loc.start, value.loc.end) == where:
            return path
        if isinstance(value, ObjectValueNode):
            inner = (walk(f.value, f"{path}.{f.name.value}") for f in value.fields)
        elif isinstance(value, ListValueNode):
            inner = (walk(v, f"{path}.{i}") for i, v in enumerate(value.values))
        else:
            return None
        return next((found for found in inner if found), None)

    class Arguments(Visitor):
        found: str | None = None

        def enter_argument(self, argument: ArgumentNode, *_: object) -> None:
            self.found = self.found or walk(argument.value, argument.name.value)

    finder = Arguments()
    visit(document, finder)
    return finder.found


def is_unexpected(error: GraphQLError) -> bool:
    """An error the client did not cause: a bug or an unhandled failure."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError | StrawberryGraphQLError)


def format_error(error: GraphQLError, correlation_id: str) -> dict[str, Any]:
    """A client-safe error: a message, a code, the field when known, the correlation id."""
    formatted: dict[str, Any] = dict(error.formatted)
    extensions = dict(formatted.get("extensions") or {})
    if not is_unexpected(error):
        if "code" not in extensions:
            message = error.message
            limit = next((code for text, code in LIMIT_CODES if text in message), None)
            if limit and error.original_error is None:
                extensions["code"] = limit
            elif message.startswith("Syntax Error") and "tokens" not in message:
                extensions["code"] = "GRAPHQL_PARSE_FAILED"
            elif message.startswith("Variable '$") or any(t in message for t in _BAD_VALUE):
                extensions["code"] = "BAD_USER_INPUT"
                # in words a client reads, without the input echoed back
                formatted["message"] = _FOUND.sub(".", message).replace(
                    "not to be None", "not to be null"
                )
            else:
                extensions["code"] = "GRAPHQL_VALIDATION_FAILED"
            field = _field_of(message) or _literal_path(error)
            if field:
                extensions["field"] = field
    else:
        formatted["message"] = "Internal server error"
        extensions = {"code": "INTERNAL_SERVER_ERROR"}
    extensions["correlationId"] = correlation_id
    formatted["extensions"] = extensions
    return formatted


@functools.cache
def _graphiql_page() -> str:
    return (files("orders_gql") / "static" / "graphiql" / "index.html").read_text()


class TextFrames(ASGIWebSocketAdapter):
    """Websocket messages as text frames, as the GraphQL over websocket
    protocols have them: a browser hands a binary frame to graphql-ws clients
    (GraphiQL's) as a Blob, which they cannot parse."""

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        """Only JSON objects are protocol messages: strawberry reads fields of
        any other JSON value (`[1, 2]`, `null`, `42`) as of an object, and the
        connection dropped without a close frame (1006) on the TypeError."""
        async for message in super().iter_json(ignore_parsing_errors=ignore_parsing_errors):
            if isinstance(message, dict):
                yield message
            elif not ignore_parsing_errors:
                raise NonJsonMessageReceived

    async def send_json(self, message: Mapping[str, object]) -> None:
        encoded = self.view.encode_json(message)
        text = encoded.decode() if isinstance(encoded, bytes) else encoded
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class OrdersGraphQL(GraphQL[Context, None]):
    websocket_adapter_class = TextFrames

    def __init__(
        self,
        schema: Any,
        context_factory: Callable[[str], Context],
        authenticator: Authenticator,
        **kwargs: Any,
    ) -> None:
        super().__init__(schema, **kwargs)
        self._context_factory = context_factory
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            response = self._error_response(exc.status_code, exc.reason, correlation_id_of(scope))
        await response(scope, receive, send)

    @staticmethod
    def _error_response(status: int, reason: str, correlation_id: str) -> Response:
        code = {
            401: "UNAUTHENTICATED",
            404: "NOT_FOUND",
            405: "METHOD_NOT_ALLOWED",
            413: "PAYLOAD_TOO_LARGE",
            415: "UNSUPPORTED_MEDIA_TYPE",
        }.get(status, "BAD_REQUEST")
        body = {
            "errors": [
                {"message": reason, "extensions": {"code": code, "correlationId": correlation_id}}
            ]
        }
        # What HTTP requires of these answers (RFC 9110: 401 names the scheme, 405
        # the methods the endpoint takes), for clients and gateways that act on it.
        headers = {401: {"WWW-Authenticate": 'Bearer realm="orders-gql"'}, 405: _ALLOW}
        return Response(
            orjson.dumps(body),
            status_code=status,
            media_type="application/json",
            headers=headers.get(status),
        )

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> Any:
        """A POST body that is not JSON is 415 (strawberry answers 400)."""
        if request.method == "POST":
            content_type, _ = parse_content_type(request.content_type or "")
            if "application/json" not in content_type:
                given = repr(content_type) if content_type else "none"
                raise HTTPException(
                    415, f"unsupported content type ({given}): send application/json"
                )
        return await super().parse_http_body(request)

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from this package's own copy of its assets (no CDN needed)."""
        return HTMLResponse(_graphiql_page())

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = self._context_factory(correlation_id_of(request.scope))
        try:
            context.principal = self.authenticator.authenticate(request.headers)
        except AuthenticationFailed as exc:
            if isinstance(request, WebSocket):
                context.auth_error = str(exc)  # refused at connection_init
                return context
            raise HTTPException(401, str(exc)) from exc
        return context

    async def on_ws_connect(self, context: Context) -> Any:
        """Credentials may come in connection_init's payload (browsers cannot set
        headers on a websocket): `{"Authorization": "Bearer ..."}` or `{"X-API-Key": ...}`."""
        params = context.connection_params or {}
        if not isinstance(params, dict):
            raise ConnectionRejectionError({"message": "connection_init payload must be an object"})
        given = {str(k).lower(): str(v) for k, v in params.items() if isinstance(v, str)}
        credentials = {k: v for k, v in given.items() if k in ("authorization", "x-api-key")}
        if credentials:
            try:
                context.principal = self.authenticator.authenticate(credentials)
            except AuthenticationFailed as exc:
                context.auth_error = str(exc)
        if context.auth_error:
            raise ConnectionRejectionError({"message": context.auth_error})
        return await super().on_ws_connect(context)

    async def process_result(self, request: Request, result: ExecutionResult) -> Any:
        data: dict[str, Any] = {"data": result.data}
        if result.errors:
            cid = correlation_id_of(request.scope)
            data["errors"] = [format_error(err, cid) for err in result.errors]
        if result.extensions:
            data["extensions"] = result.extensions
        return data

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def parse_json(self, data: str | bytes) -> Any:
        """A request body: a JSON object (a list is a batch, which strawberry
        refuses). strawberry reads fields of any other JSON value (`null`,
        `42`, `"{ q }"`) as of an object, an HTTP 500; and takes any
        operationName, stringified."""
        parsed = super().parse_json(data)
        if isinstance(parsed, list):
            return parsed
        if not isinstance(parsed, dict):
            raise HTTPException(400, "The request body must be a JSON object.")
        if not isinstance(parsed.get("operationName"), str | None):
            raise HTTPException(
                400, "The GraphQL operation's `operationName` must be a string or null."
            )
        return parsed

    def decode_json(self, data: str | bytes) -> object:
        # orjson.JSONDecodeError is a json.JSONDecodeError: strawberry still
        # answers a body that is not JSON with its 400
        return orjson.loads(data)
