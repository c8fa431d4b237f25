"""Typed errors: domain refusals become members of a mutation's result union;
infrastructure failures become top-level GraphQL errors with a code."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import Enum

import strawberry
from graphql import GraphQLError

from ..domain import errors as domain
from ..readside.batch import ReadSideUnavailable
from ..readside.queries import QueryTimeLimit
from ..service import check_order_id
from .types import OrderStatus


@strawberry.enum(description="Machine-readable reason of an error.")
class ErrorCode(Enum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    ORDER_ALREADY_EXISTS = "ORDER_ALREADY_EXISTS"
    ORDER_DELETED = "ORDER_DELETED"
    INVALID_STATUS_TRANSITION = "INVALID_STATUS_TRANSITION"
    CONCURRENCY_CONFLICT = "CONCURRENCY_CONFLICT"


@strawberry.interface(description="A refusal: nothing was written.")
class Error:
    code: ErrorCode = strawberry.field(description="What kind of refusal, for programs.")
    message: str = strawberry.field(description="What was refused and why, for people.")


@strawberry.type
class ValidationError(Error):
    field: str = strawberry.field(description="Path of the offending input, e.g. items.0.price.")


@strawberry.type
class OrderNotFound(Error):
    order_id: strawberry.ID


@strawberry.type
class OrderDeleted(Error):
    order_id: strawberry.ID


@strawberry.type
class InvalidStatusTransition(Error):
    from_: OrderStatus = strawberry.field(  # type: ignore[valid-type]
        name="from", description="The order's status when the command came."
    )
    to: str = strawberry.field(description="The status asked for, or DELETED.")


@strawberry.type
class ConcurrencyConflict(Error):
    expected_version: int = strawberry.field(description="The version the command expected.")
    current_version: int = strawberry.field(
        description="The order's version now: read it again and decide anew."
    )


def to_graphql(err: domain.DomainError) -> Error:
    """Map a domain refusal to its GraphQL error type."""
    message = err.message
    if isinstance(err, domain.ValidationError):
        return ValidationError(code=ErrorCode.VALIDATION_ERROR, message=message, field=err.field)
    if isinstance(err, domain.OrderNotFound):
        return OrderNotFound(
            code=ErrorCode.ORDER_NOT_FOUND, message=message, order_id=strawberry.ID(err.order_id)
        )
    if isinstance(err, domain.OrderAlreadyExists):
        return ValidationError(
            code=ErrorCode.ORDER_ALREADY_EXISTS, message=message, field="orderId"
        )
    if isinstance(err, domain.OrderDeleted):
        return OrderDeleted(
            code=ErrorCode.ORDER_DELETED, message=message, order_id=strawberry.ID(err.order_id)
        )
    if isinstance(err, domain.InvalidStatusTransition):
        return InvalidStatusTransition(
            code=ErrorCode.INVALID_STATUS_TRANSITION,
            message=message,
            from_=domain_status(err.from_status),
            to=err.to_status.upper(),
        )
    if isinstance(err, domain.ConcurrencyConflict):
        return ConcurrencyConflict(
            code=ErrorCode.CONCURRENCY_CONFLICT,
            message=message,
            expected_version=err.expected_version,
            current_version=err.current_version,
        )
    raise TypeError(f"no GraphQL type for {type(err).__name__}")  # pragma: no cover


def domain_status(value: str) -> OrderStatus:  # type: ignore[valid-type]
    return OrderStatus(value)


class ServiceUnavailable(GraphQLError):
    """A backing server is down; the request may be retried. `nothing_written`
    for a command, whose append is all or nothing."""

    def __init__(self, what: str, *, nothing_written: bool = False) -> None:
        done = "; nothing was written" if nothing_written else ""
        super().__init__(
            f"{what}: unavailable{done}, retry later",
            extensions={"code": "SERVICE_UNAVAILABLE"},
        )


#: What to do about a list stopped at its time limit, by the argument named.
_NARROWER = {
    # a longer text reads as many orders: every one
    "q": "a search reads every order; customerOrders and ordersByStatus use an index",
}


class QueryTimeLimitError(GraphQLError):
    """MongoDB stopped a list's query at its time limit; `field` names the
    argument that narrows it, when one does."""

    def __init__(self, exc: QueryTimeLimit, field: str | None) -> None:
        extensions: dict[str, object] = {"code": "QUERY_TIME_LIMIT"}
        if field is not None:
            extensions["field"] = field
        hint = _NARROWER.get(field or "", "narrow it down")
        super().__init__(
            f"{field + ': ' if field else ''}{exc} (ORDERS_QUERY_TIME_LIMIT_MS) and MongoDB "
            f"stopped it; {hint}",
            extensions=extensions,
        )


@contextlib.contextmanager
def read_models_answer(narrow: str | None = None) -> Iterator[None]:
    """A read of the read models that fails for want of MongoDB answers
    SERVICE_UNAVAILABLE (a client may retry; a read writes nothing); one that
    MongoDB stopped at its time limit, QUERY_TIME_LIMIT naming `narrow`."""
    try:
        yield
    except ReadSideUnavailable as exc:
        raise ServiceUnavailable("the read models") from exc
    except QueryTimeLimit as exc:
        raise QueryTimeLimitError(exc, narrow) from exc


class NotReplicatedError(GraphQLError):
    """Appended on the master, not confirmed by enough replicas in time."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"the change was stored but not confirmed by the replicas ({detail}); retry "
            "with the same idempotencyKey to get its result",
            extensions={"code": "NOT_REPLICATED"},
        )


class BadUserInput(GraphQLError):
    """A top-level refusal for queries, which have no error union."""

    def __init__(self, field: str, message: str, code: str = "BAD_USER_INPUT") -> None:
        super().__init__(f"{field}: {message}", extensions={"code": code, "field": field})


def order_id_argument(order_id: object) -> str:
    """An `orderId` argument of a query, checked as commands check it."""
    try:
        return check_order_id(str(order_id))
    except domain.ValidationError as err:
        raise BadUserInput("orderId", err.reason) from err
