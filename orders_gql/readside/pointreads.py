"""Reads of single documents by `_id` that arrive together, answered by one
query (`{_id: {$in: [...]}}`): a DataLoader across requests (see
orders_gql.gathering). A read that arrives alone stays a `find_one`.

Each read's answer is the document as one query saw it, after the read
arrived: the same guarantee a `find_one` of its own gives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from ..gathering import Gathering
from .batch import ReadSideUnavailable

#: Ids per `$in` lookup. SecantusDB matches each candidate against the whole
#: `$in` list, so one lookup of n ids costs n^2; chunks keep it linear. 500
#: existing ids in one transaction: 57 ms in chunks of 100, 42 in chunks of
#: 50, 40-44 in chunks of 25 (a round trip each).
IN_CHUNK = 50

Document = Mapping[str, Any]


def _failed(exc: Exception) -> Exception:
    if isinstance(exc, PyMongoError):
        return ReadSideUnavailable(str(exc))
    return RuntimeError(f"point read failed: {exc!r}")


class PointReads:
    """`get(id)` on one collection, gathered (see the module)."""

    def __init__(
        self, collection: Callable[[], AsyncCollection[Any]], most: int = IN_CHUNK
    ) -> None:
        self._collection = collection
        self.get: Gathering[str, Document | None] = Gathering(self._fetch, most, _failed)

    async def _fetch(self, ids: list[str]) -> list[Document | None]:
        collection = self._collection()
        wanted = list(dict.fromkeys(ids))
        if len(wanted) == 1:
            found = await collection.find_one({"_id": wanted[0]})
            return [found] * len(ids)
        documents = {d["_id"]: d async for d in collection.find({"_id": {"$in": wanted}})}
        return [documents.get(i) for i in ids]
