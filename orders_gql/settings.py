"""One settings object, read from the environment (ORDERS_*)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


PROJECTOR_MODES = ("process", "thread", "loop")


@dataclass(frozen=True)
class Settings:
    #: Redis URL of the event store; unset: `serve` starts an embedded server.
    redis_url: str | None = None
    #: The URL names one node of a Redis Cluster; the client finds the others.
    redis_cluster: bool = False
    #: MongoDB URL of the read models; unset: `serve` starts an embedded SecantusDB.
    mongodb_url: str | None = None
    mongodb_db: str = "orders"
    #: Where the embedded servers keep their data.
    data_dir: Path = Path(".orders-gql")
    #: appendfsync of the embedded Redis: always (no acknowledged write lost) or everysec.
    redis_appendfsync: str = "everysec"
    #: Acknowledge an append only once this many replicas have it (Redis WAIT).
    redis_wait_replicas: int = 0
    redis_wait_timeout_ms: int = 1000
    #: Connections to Redis per process (per node on a cluster); requests beyond
    #: wait for one on a single server, and fail at once on a cluster.
    redis_max_connections: int = 64
    key_prefix: str = "orders"
    partitions: int = 1
    snapshot_every: int = 50
    #: Orders whose latest state a process keeps to decide its next command
    #: without loading it (0: load every time).
    recent_states: int = 10_000
    command_retries: int = 20
    idempotency_ttl: int = 86_400
    #: Events that may wait for one subscriber; past that its subscription ends.
    subscription_buffer: int = 256
    #: Run the projector inside `serve` (off: `serve --no-projector`).
    projector: bool = True
    #: Where serve runs its projector: "process" (of its own, supervised by
    #: the API process), "thread" (and event loop of its own, in the API
    #: process) or "loop" (the API's event loop).
    projector_mode: str = "process"
    projector_group: str = "projector"
    projector_batch: int = 500
    #: Entries pending this long on a consumer are taken over by another.
    projector_claim_idle_ms: int = 10_000
    #: Failed attempts after which an entry is parked as a dead letter.
    projector_max_attempts: int = 5
    #: `orders-gql project` serves /metrics on this port (0: not at all) and address.
    projector_metrics_port: int = 0
    projector_metrics_host: str = "127.0.0.1"
    #: How long a query with consistentWith waits for the projector.
    consistency_timeout_ms: int = 5_000
    #: How long MongoDB may run one query of a list (its page or its count)
    #: before it stops it and the query answers QUERY_TIME_LIMIT (0: no limit).
    query_time_limit_ms: int = 10_000
    #: How long a MongoDB call may wait for the server before SERVICE_UNAVAILABLE.
    mongodb_timeout_ms: int = 2_000
    graphiql: bool = True
    introspection: bool = True
    #: Request limits: bodies over max_body_bytes get HTTP 413.
    max_body_bytes: int = 1_048_576
    max_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 5_000
    max_fields: int = 2_000
    log_level: str = "info"
    #: "text" or "json" (one object per line, with the correlation id).
    log_format: str = "text"
    #: uvicorn's access log line per request (off: it costs throughput).
    access_log: bool = False
    #: "on", "off", or unset: on when credentials are configured; `serve` with
    #: embedded servers and no credentials runs the playground with auth off.
    auth: str = ""
    jwt_secret: str | None = None
    jwks_file: Path | None = None
    api_keys_file: Path | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    #: Browser origins allowed to call the API from other sites (CORS), comma
    #: separated, e.g. "http://localhost:3000"; "*" for any; unset: none.
    cors_origins: str = ""

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
        if self.log_format not in ("text", "json"):
            raise SettingsError("ORDERS_LOG_FORMAT must be text or json")
        if self.partitions < 1:
            raise SettingsError("ORDERS_PARTITIONS must be 1 or more")
        if self.auth not in ("", "on", "off"):
            raise SettingsError("ORDERS_AUTH must be on or off")
        if self.auth == "on" and not self.has_credentials:
            raise SettingsError(
                "ORDERS_AUTH=on needs ORDERS_JWT_SECRET, ORDERS_JWKS_FILE or ORDERS_API_KEYS_FILE"
            )
        if self.projector_mode not in PROJECTOR_MODES:
            raise SettingsError("ORDERS_PROJECTOR_MODE must be process, thread or loop")
        if self.projector_batch < 1 or self.projector_max_attempts < 1:
            raise SettingsError("ORDERS_PROJECTOR_BATCH and _MAX_ATTEMPTS must be 1 or more")
        if not 0 <= self.projector_metrics_port <= 65535:
            raise SettingsError("ORDERS_PROJECTOR_METRICS_PORT must be 0 (off) to 65535")
        if self.consistency_timeout_ms < 0 or self.mongodb_timeout_ms < 1:
            raise SettingsError("ORDERS_CONSISTENCY_TIMEOUT_MS/MONGODB_TIMEOUT_MS out of range")
        if self.query_time_limit_ms < 0:
            raise SettingsError("ORDERS_QUERY_TIME_LIMIT_MS must be 0 (no limit) or more")
        if self.snapshot_every < 0:
            raise SettingsError("ORDERS_SNAPSHOT_EVERY must be 0 (off) or more")
        if self.recent_states < 0:
            raise SettingsError("ORDERS_RECENT_STATES must be 0 (off) or more")
        if self.subscription_buffer < 1:
            raise SettingsError("ORDERS_SUBSCRIPTION_BUFFER must be 1 or more")
        if self.log_level.lower() not in ("debug", "info", "warning", "error", "critical"):
            raise SettingsError("ORDERS_LOG_LEVEL must be debug, info, warning, error or critical")
        if any(o != "*" and "://" not in o for o in self.allowed_origins):
            raise SettingsError(
                "ORDERS_CORS_ORIGINS: origins such as http://localhost:3000, comma separated, or *"
            )
        for name, path in (
            ("ORDERS_JWKS_FILE", self.jwks_file),
            ("ORDERS_API_KEYS_FILE", self.api_keys_file),
        ):
            if path is not None and not path.is_file():
                raise SettingsError(f"{name}: no such file: {path}")
        if self.jwt_secret is not None and len(self.jwt_secret.encode()) < 32:
            raise SettingsError(
                "ORDERS_JWT_SECRET must be at least 32 bytes: HS256 needs a key as long as "
                "its hash (RFC 7518 3.2); `openssl rand -hex 32` makes one"
            )
        if self.api_keys_file is not None or self.jwks_file is not None:
            from .api.auth import check_credential_files  # reads them as the API will

            check_credential_files(self.api_keys_file, self.jwks_file)

    @property
    def allowed_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @property
    def has_credentials(self) -> bool:
        return bool(self.jwt_secret or self.jwks_file or self.api_keys_file)

    @property
    def auth_enabled(self) -> bool:
        """Whether requests must authenticate; refuses an unconfigured production setup."""
        if self.auth == "off":
            return False
        if self.has_credentials:
            return True
        raise SettingsError(
            "authentication is not configured: set ORDERS_JWT_SECRET, ORDERS_JWKS_FILE or "
            "ORDERS_API_KEYS_FILE, or ORDERS_AUTH=off to run without it"
        )


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
    if kind in ("Path", "Path | None"):
        return Path(raw)
    return raw
