"""Generations of read models: the same Beanie documents bound to collections
suffixed with the generation's name (`order_views_g1`), created on first use."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import UTC, datetime

from beanie import init_beanie
from pymongo.asynchronous.database import AsyncDatabase

from .documents import ActiveGeneration, Checkpoint, CustomerStats, OrderSummary, OrderView


@dataclass(frozen=True)
class ReadModels:
    """The document classes of one generation."""

    generation: str
    views: type[OrderView]
    customers: type[CustomerStats]
    summary: type[OrderSummary]

    def collection_names(self) -> list[str]:
        return [m.get_collection_name() for m in (self.views, self.customers, self.summary)]


@functools.cache
def models_for(generation: str) -> ReadModels:
    class GenOrderView(OrderView):
        class Settings(OrderView.Settings):
            name = f"{OrderView.Settings.name}_{generation}"

    class GenCustomerStats(CustomerStats):
        class Settings(CustomerStats.Settings):
            name = f"{CustomerStats.Settings.name}_{generation}"

    class GenOrderSummary(OrderSummary):
        class Settings(OrderSummary.Settings):
            name = f"{OrderSummary.Settings.name}_{generation}"

    return ReadModels(generation, GenOrderView, GenCustomerStats, GenOrderSummary)


def new_generation_name() -> str:
    return "g" + datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")


class Binder:
    """Initialises Beanie (and so the indexes) once per database and generation."""

    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self.db = db
        self._bound: set[str] = set()
        self._lock = asyncio.Lock()

    async def base(self) -> None:
        await self._bind("", [ActiveGeneration, Checkpoint])

    async def generation(self, generation: str) -> ReadModels:
        models = models_for(generation)
        await self._bind(
            generation, [models.views, models.customers, models.summary, ActiveGeneration]
        )
        return models

    async def _bind(self, key: str, documents: list[type]) -> None:
        if key in self._bound:
            return
        async with self._lock:
            if key not in self._bound:
                await init_beanie(database=self.db, document_models=documents)
                self._bound.add(key)
