"""Per-request context: the services a resolver may use and who is asking."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from strawberry.types import Info as StrawberryInfo

from ..domain.commands import Metadata
from ..readside.facade import ReadSide
from ..service import OrderService, command_id_for


@dataclass
class Context:
    service: OrderService
    read_side: ReadSide | None = None
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    principal: str | None = None

    def metadata(self, idempotency_key: str | None) -> Metadata:
        return Metadata(
            command_id=command_id_for(idempotency_key),
            correlation_id=self.correlation_id,
            issued_by=self.principal,
        )


Info = StrawberryInfo[Context, None]
