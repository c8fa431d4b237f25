"""Generations of read models: the same Beanie documents bound to collections
suffixed with the generation's name (`order_views_g1`), created on first use."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from beanie import Document, init_beanie
from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import CollectionInvalid, OperationFailure

from .documents import (
    ActiveGeneration,
    Checkpoint,
    CustomerChanges,
    CustomerChangesFields,
    CustomerStats,
    CustomerStatsFields,
    OrderSummary,
    OrderSummaryFields,
    OrderView,
    OrderViewFields,
)
from .mongo import reinserting_is_cheaper
from .pointreads import PointReads


@dataclass(frozen=True)
class ReadModels:
    """The document classes of one generation."""

    generation: str
    views: Any  # Document classes built at run time, see _document
    customers: Any
    summary: Any
    #: The customers' changes not yet folded into their documents.
    customer_changes: Any
    #: Single views by id, gathered across concurrent reads (see pointreads).
    views_by_id: PointReads = field(compare=False)
    #: The projector rewrites a stored document by deleting and inserting it
    #: again in its transaction instead of replacing it (see
    #: mongo.reinserting_is_cheaper).
    reinsert: bool = field(default=False, compare=False)

    def collection_names(self) -> list[str]:
        return [m.get_collection_name() for m in self.documents()]

    def documents(self) -> list[Any]:
        return [self.views, self.customers, self.summary, self.customer_changes]


def _document(template: type[Document], fields: type[BaseModel], generation: str) -> Any:
    """A Document class with `template`'s fields, indexes and options, whose
    collection name has the generation's suffix. Built from the fields' model
    and Document directly: Beanie would re-initialise a Document parent."""
    name = f"{template.__name__}_{generation}"
    base: Any = template.Settings
    settings = type(
        "Settings",
        (base,),
        {"name": f"{base.name}_{generation}", "__qualname__": f"{name}.Settings",
         "__module__": __name__},
    )  # fmt: skip
    return type(name, (fields, Document), {"Settings": settings, "__qualname__": name,
                                           "__module__": __name__})  # fmt: skip


def models_for(generation: str, reinsert: bool = False) -> ReadModels:
    """New document classes of a generation. Beanie binds a class to one
    database client, so each Binder (each client) has classes of its own."""
    views = _document(OrderView, OrderViewFields, generation)
    return ReadModels(
        generation,
        views,
        _document(CustomerStats, CustomerStatsFields, generation),
        _document(OrderSummary, OrderSummaryFields, generation),
        _document(CustomerChanges, CustomerChangesFields, generation),
        PointReads(views.get_pymongo_collection),
        reinsert,
    )


def new_generation_name() -> str:
    return "g" + datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")


class Binder:
    """Initialises Beanie (and so the indexes) once per database and generation.
    `reinsert`: how the projector rewrites documents (ReadModels.reinsert);
    None asks the server which is cheaper, once."""

    def __init__(self, db: AsyncDatabase, reinsert: bool | None = None) -> None:  # type: ignore[type-arg]
        self.db = db
        self.reinsert = reinsert
        self._bound: set[str] = set()
        self._models: dict[str, ReadModels] = {}
        self._lock = asyncio.Lock()

    async def base(self) -> None:
        await self._bind("", [ActiveGeneration, Checkpoint])

    async def generation(self, generation: str) -> ReadModels:
        models = self._models.get(generation)
        if models is None:
            if self.reinsert is None:
                self.reinsert = await reinserting_is_cheaper(self.db)
            models = self._models.setdefault(generation, models_for(generation, self.reinsert))
        await self._bind(generation, models.documents())
        return models

    async def _bind(self, key: str, documents: list[Any]) -> None:
        if key in self._bound:
            return
        async with self._lock:
            if key not in self._bound:
                await init_beanie(database=self.db, document_models=documents)
                # Collections without indexes are made here, not by a first
                # insert inside a transaction (which MongoDB allows from 4.4).
                existing = set(await self.db.list_collection_names())
                for document in documents:
                    name = document.get_collection_name()
                    if name not in existing:
                        with contextlib.suppress(CollectionInvalid, OperationFailure):
                            await self.db.create_collection(name)  # or another process did
                self._bound.add(key)
