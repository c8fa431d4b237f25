"""The live order board at /board: a static page (HTML, ES modules, CSS under
static/board/, no build step) that speaks graphql-transport-ws to /graphql."""

from __future__ import annotations

import functools
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

#: Everything comes from this origin; the websocket too ('self' covers ws: in CSP 3).
_POLICY = (
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@functools.cache
def _page() -> str:
    return (files("orders_gql") / "static" / "board" / "index.html").read_text()


async def board_page(request: Request) -> Response:
    """The board's HTML; its scripts and styles are served from /static/board/."""
    return HTMLResponse(
        _page(), headers={"content-security-policy": _POLICY, "cache-control": "no-cache"}
    )
