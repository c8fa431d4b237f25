"""Relay-style connection of orders, shared by every list query."""

from __future__ import annotations

import strawberry

from ..readside.queries import Page, Rows, encode_cursor
from .errors import read_models_answer
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


async def _no_rows() -> Rows:
    return Rows(items=[], has_next=False, end_cursor=None)


@strawberry.type(description="A page of orders, newest first.")
class OrderConnection:
    page: strawberry.Private[Page]
    #: The argument that narrows the list (named by QUERY_TIME_LIMIT), if any.
    narrow: strawberry.Private[str | None] = None

    @strawberry.field
    async def edges(self) -> list[OrderEdge]:
        rows = await self._rows()
        return [OrderEdge(node=order_from_document(v), cursor=encode_cursor(v)) for v in rows.items]

    @strawberry.field
    async def page_info(self) -> PageInfo:
        rows = await self._rows()
        return PageInfo(has_next_page=rows.has_next, end_cursor=rows.end_cursor)

    @strawberry.field(description="Orders matching, over all pages.")
    async def total_count(self) -> int:
        """Counted only when asked for."""
        with read_models_answer(self.narrow):
            return await self.page.count()

    async def _rows(self) -> Rows:
        """The page's orders, read once for edges and pageInfo, when either is asked for."""
        with read_models_answer(self.narrow):
            return await self.page.rows()

    @classmethod
    def empty(cls) -> OrderConnection:
        return cls(page=Page(rows=_no_rows, count=_none))
