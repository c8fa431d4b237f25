"""Prometheus metrics, served at /metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest

COMMANDS = Counter(
    "orders_commands_total",
    "Commands handled, by command and outcome (ok, replayed, or the error code).",
    ["command", "outcome"],
)
CONFLICT_RETRIES = Counter(
    "orders_command_conflict_retries_total",
    "Times a command was decided again after a concurrent append (optimistic concurrency).",
)
EVENTS_APPENDED = Counter(
    "orders_events_appended_total", "Events appended to the event store, by type.", ["type"]
)
PROJECTOR_LAG_EVENTS = Gauge(
    "orders_projector_lag_events",
    "Events in the log not yet applied to the read models, by partition.",
    ["partition"],
)
PROJECTOR_LAG_SECONDS = Gauge(
    "orders_projector_lag_seconds",
    "Age of the oldest event not yet applied to the read models, by partition.",
    ["partition"],
)
PROJECTED_EVENTS = Counter("orders_projected_events_total", "Events applied to the read models.")
DEAD_LETTERS = Gauge("orders_dead_letters", "Events parked in the dead-letter stream.")
SUBSCRIBERS = Gauge("orders_subscribers", "Open GraphQL subscriptions in this process.")


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
