"""One settings object, read from the environment (ORDERS_*)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


@dataclass(frozen=True)
class Settings:
    #: Redis URL of the event store; unset: `serve` starts an embedded server.
    redis_url: str | None = None
    #: MongoDB URL of the read models; unset: `serve` starts an embedded SecantusDB.
    mongodb_url: str | None = None
    mongodb_db: str = "orders"
    #: Where the embedded servers keep their data.
    data_dir: Path = Path(".orders-gql")
    #: appendfsync of the embedded Redis: always (no acknowledged write lost) or everysec.
    redis_appendfsync: str = "everysec"
    key_prefix: str = "orders"
    partitions: int = 1
    snapshot_every: int = 50
    command_retries: int = 20
    idempotency_ttl: int = 86_400
    #: Run the projector inside `serve` (off: `serve --no-projector`).
    projector: bool = True
    projector_group: str = "projector"
    projector_batch: int = 500
    #: Entries pending this long on a consumer are taken over by another.
    projector_claim_idle_ms: int = 10_000
    #: Failed attempts after which an entry is parked as a dead letter.
    projector_max_attempts: int = 5
    #: How long a query with consistentWith waits for the projector.
    consistency_timeout_ms: int = 5_000
    #: How long a MongoDB call may wait for the server before SERVICE_UNAVAILABLE.
    mongodb_timeout_ms: int = 2_000
    graphiql: bool = True
    introspection: bool = True
    log_level: str = "info"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"ORDERS_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, str(f.type), raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        if self.redis_appendfsync not in ("always", "everysec", "no"):
            raise SettingsError("ORDERS_REDIS_APPENDFSYNC must be always, everysec or no")
        if self.partitions < 1:
            raise SettingsError("ORDERS_PARTITIONS must be 1 or more")
        if self.projector_batch < 1 or self.projector_max_attempts < 1:
            raise SettingsError("ORDERS_PROJECTOR_BATCH and _MAX_ATTEMPTS must be 1 or more")
        if self.consistency_timeout_ms < 0 or self.mongodb_timeout_ms < 1:
            raise SettingsError("ORDERS_CONSISTENCY_TIMEOUT_MS/MONGODB_TIMEOUT_MS out of range")
        if self.snapshot_every < 0:
            raise SettingsError("ORDERS_SNAPSHOT_EVERY must be 0 (off) or more")


def known_variables() -> list[str]:
    return [f"ORDERS_{f.name.upper()}" for f in fields(Settings)]


def _parse(name: str, kind: str, raw: str) -> object:
    var = f"ORDERS_{name.upper()}"
    if kind == "bool":
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{var} must be true or false, not {raw!r}")
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{var} must be a whole number, not {raw!r}") from None
    if kind == "Path":
        return Path(raw)
    return raw
