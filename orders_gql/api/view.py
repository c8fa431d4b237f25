"""The GraphQL HTTP/websocket view: context per request, typed error responses,
correlation ids, and no internals leaked to clients."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import StrawberryGraphQLError
from strawberry.types import ExecutionResult

from .context import Context

log = logging.getLogger("orders_gql.api")

_VARIABLE_PATH = re.compile(r"at '([^']+)'")
_VARIABLE_NAME = re.compile(r"Variable '\$(\w+)'")
_ARGUMENT = re.compile(r"[Aa]rgument '(\w+)'")
_FIELD = re.compile(r"[Ff]ield '(\w+)'")


def correlation_id_of(scope: Scope) -> str:
    return str(scope.get("state", {}).get("correlation_id", ""))


def _field_of(message: str) -> str | None:
    for pattern in (_VARIABLE_PATH, _VARIABLE_NAME, _ARGUMENT, _FIELD):
        found = pattern.search(message)
        if found:
            return found.group(1).replace("[", ".").replace("]", "")
    return None


def format_error(error: GraphQLError, correlation_id: str) -> dict[str, Any]:
    """A client-safe error: a message, a code, the field when known, the correlation id."""
    formatted: dict[str, Any] = dict(error.formatted)
    original = error.original_error
    extensions = dict(formatted.get("extensions") or {})
    if original is None or isinstance(original, GraphQLError | StrawberryGraphQLError):
        if "code" not in extensions:
            message = error.message
            if message.startswith("Syntax Error"):
                extensions["code"] = "GRAPHQL_PARSE_FAILED"
            elif message.startswith("Variable '$") or "cannot represent" in message:
                extensions["code"] = "BAD_USER_INPUT"
            else:
                extensions["code"] = "GRAPHQL_VALIDATION_FAILED"
            field = _field_of(message)
            if field:
                extensions["field"] = field
    else:
        log.error(
            "internal error (correlation id %s) at %s",
            correlation_id,
            error.path,
            exc_info=original,
        )
        formatted["message"] = "Internal server error"
        extensions = {"code": "INTERNAL_SERVER_ERROR"}
    extensions["correlationId"] = correlation_id
    formatted["extensions"] = extensions
    return formatted


class OrdersGraphQL(GraphQL[Context, None]):
    def __init__(
        self, schema: Any, context_factory: Callable[[str], Context], **kwargs: Any
    ) -> None:
        super().__init__(schema, **kwargs)
        self._context_factory = context_factory

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
        code = {405: "METHOD_NOT_ALLOWED", 404: "NOT_FOUND", 413: "PAYLOAD_TOO_LARGE"}.get(
            status, "BAD_REQUEST"
        )
        body = {
            "errors": [
                {"message": reason, "extensions": {"code": code, "correlationId": correlation_id}}
            ]
        }
        return Response(orjson.dumps(body), status_code=status, media_type="application/json")

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return self._context_factory(correlation_id_of(request.scope))

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
