"""Per-request context: the services a resolver may use and who is asking."""

from __future__ import annotations

from dataclasses import dataclass, field

from strawberry.types import Info as StrawberryInfo

from ..domain.commands import Metadata
from ..domain.ids import random_uuid
from ..live.feeds import LiveFeeds
from ..readside.facade import ReadSide
from ..service import OrderService, command_id_for
from .auth import Principal, Role, require


@dataclass
class Context:
    service: OrderService
    read_side: ReadSide | None = None
    correlation_id: str = field(default_factory=random_uuid)
    principal: Principal | None = None
    live: LiveFeeds | None = None
    #: The websocket's connection_init payload (where browsers send credentials).
    connection_params: dict[str, object] | None = None
    #: Why credentials sent with a websocket handshake were refused, if they were.
    auth_error: str | None = None

    def metadata(self, idempotency_key: str | None) -> Metadata:
        return Metadata(
            command_id=command_id_for(idempotency_key),
            correlation_id=self.correlation_id,
            issued_by=f"{self.principal.role}:{self.principal.subject}" if self.principal else None,
        )

    def require(self, *roles: Role, what: str) -> Principal:
        return require(self.principal, *roles, what=what)


Info = StrawberryInfo[Context, None]
