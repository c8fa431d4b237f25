"""Operator fields: the projector's dead letters, listed and retried."""

from __future__ import annotations

from datetime import datetime

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
    position: str
    order_id: strawberry.ID
    version: int
    event_type: str
    reason: str
    error: str
    attempts: int
    parked_at: datetime

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


async def dead_letters(
    info: Info, order_id: strawberry.ID | None = None, limit: int = 100
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


async def retry_dead_letters(
    info: Info, order_id: strawberry.ID | None = None
) -> RetryDeadLettersPayload:
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
