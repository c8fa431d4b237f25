"""Domain errors: why a command was refused. Each names what a client can fix."""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused by the domain; nothing was stored."""

    code = "DOMAIN_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(DomainError):
    """An input value is not acceptable; `field` is its path, e.g. `items.0.price`."""

    code = "VALIDATION_ERROR"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class OrderNotFound(DomainError):
    code = "ORDER_NOT_FOUND"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id!r} does not exist")
        self.order_id = order_id


class OrderAlreadyExists(DomainError):
    code = "ORDER_ALREADY_EXISTS"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id!r} already exists")
        self.order_id = order_id


class OrderDeleted(DomainError):
    code = "ORDER_DELETED"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id!r} has been deleted")
        self.order_id = order_id


class InvalidStatusTransition(DomainError):
    code = "INVALID_STATUS_TRANSITION"

    def __init__(self, from_status: str, to_status: str, reason: str = "") -> None:
        text = reason or f"an order cannot move from {from_status} to {to_status}"
        super().__init__(text)
        self.from_status = from_status
        self.to_status = to_status


class ConcurrencyConflict(DomainError):
    """The order changed since the version the caller expected."""

    code = "CONCURRENCY_CONFLICT"

    def __init__(self, order_id: str, expected_version: int, current_version: int) -> None:
        super().__init__(
            f"order {order_id!r} is at version {current_version}, "
            f"not the expected version {expected_version}"
        )
        self.order_id = order_id
        self.expected_version = expected_version
        self.current_version = current_version
