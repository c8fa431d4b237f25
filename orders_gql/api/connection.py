"""Relay-style connection of orders, shared by every list query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from ..readside.queries import Page, encode_cursor
from ..readside.store import ReadSideUnavailable
from .errors import ServiceUnavailable
from .readtypes import order_from_document
from .types import Order


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(description="Pass it as `after` for the next page.")


@strawberry.type
class OrderEdge:
    node: Order
    cursor: str


async def _none() -> int:
    return 0


@strawberry.type(description="A page of orders, newest first.")
class OrderConnection:
    edges: list[OrderEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Orders matching, over all pages.")
    async def total_count(self) -> int:
        """Counted only when asked for."""
        try:
            return await self.count()
        except ReadSideUnavailable as exc:
            raise ServiceUnavailable("the read models") from exc

    @classmethod
    def from_page(cls, page: Page) -> OrderConnection:
        return cls(
            edges=[
                OrderEdge(node=order_from_document(v), cursor=encode_cursor(v)) for v in page.items
            ],
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor),
            count=page.count,
        )

    @classmethod
    def empty(cls) -> OrderConnection:
        return cls(edges=[], page_info=PageInfo(has_next_page=False, end_cursor=None), count=_none)
