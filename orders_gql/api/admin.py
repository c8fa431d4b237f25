"""Operator fields: the projector's dead letters, listed and retried."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from ..eventstore.connect import REDIS_ERRORS
from ..readside.deadletters import DeadLetter as Letter
from ..readside.deadletters import DeadLetters as Letters
from ..readside.failures import is_infrastructure
from .auth import Role
from .context import Info
from .errors import BadUserInput, ServiceUnavailable, order_id_argument


@strawberry.type(description="An event the projector parked: its handler kept failing "
                 "(FAILED), or an earlier event of its order is parked (BLOCKED).")  # fmt: skip
class DeadLetter:
    position: str = strawberry.field(description="Log position of the parked event.")
    order_id: strawberry.ID
    version: int = strawberry.field(description="The order's version after the event.")
    event_type: str = strawberry.field(
        description="OrderCreated, OrderStatusChanged, OrderCancelled or OrderDeleted."
    )
    reason: str = strawberry.field(
        description="FAILED (its handler kept failing) or BLOCKED (an earlier event of "
        "its order is parked)."
    )
    error: str = strawberry.field(description="The handler's last error, or what blocks it.")
    attempts: int = strawberry.field(description="How many times the projector tried to apply it.")
    parked_at: datetime = strawberry.field(description="When it was parked (UTC).")

    @classmethod
    def of(cls, letter: Letter) -> DeadLetter:
        return cls(
            position=letter.position,
            order_id=strawberry.ID(letter.order_id),
            version=letter.version,
            event_type=letter.event_type,
            reason=letter.reason,
            error=letter.error,
            attempts=letter.attempts,
            parked_at=letter.parked_at,
        )


@strawberry.type
class RetryDeadLettersPayload:
    applied: int = strawberry.field(description="Letters applied and removed.")
    still_dead: int = strawberry.field(description="Letters still parked.")


def _letters(info: Info) -> Letters:
    if info.context.read_side is None:
        raise ServiceUnavailable("the read models")
    return info.context.read_side.dead_letters


_ONE_ORDER = Annotated[
    strawberry.ID | None,
    strawberry.argument(description="Only this order's letters; all when left out."),
]


async def dead_letters(
    info: Info,
    order_id: _ONE_ORDER = None,
    limit: Annotated[int, strawberry.argument(description="At most this many, 1 to 1000.")] = 100,
) -> list[DeadLetter]:
    """Parked events, oldest position first."""
    info.context.require(Role.ADMIN, what="deadLetters")
    if not 1 <= limit <= 1000:
        raise BadUserInput("limit", "must be between 1 and 1000")
    if order_id is not None:
        order_id_argument(order_id)
    try:
        found = await _letters(info).list(str(order_id) if order_id else None, limit)
    except REDIS_ERRORS as exc:
        raise ServiceUnavailable("the event store") from exc
    return [DeadLetter.of(x) for x in found]


async def retry_dead_letters(info: Info, order_id: _ONE_ORDER = None) -> RetryDeadLettersPayload:
    """Apply parked events again, per order in order; stops at one that fails again."""
    info.context.require(Role.ADMIN, what="retryDeadLetters")
    if order_id is not None:
        order_id_argument(order_id)
    try:
        report = await _letters(info).retry(str(order_id) if order_id else None)
    except Exception as exc:
        if is_infrastructure(exc):
            raise ServiceUnavailable("the read models or the event store") from exc
        raise
    return RetryDeadLettersPayload(applied=report.applied, still_dead=report.still_dead)


@strawberry.type
class AdminMutation:
    retry_dead_letters: RetryDeadLettersPayload = strawberry.field(
        resolver=retry_dead_letters,
        description="Operators: apply the projector's dead letters again.",
    )
