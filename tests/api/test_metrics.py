"""/metrics: Prometheus text with command outcomes and appended events."""

from __future__ import annotations

import dataclasses
import io
import logging
import re

import httpx
import orjson

from orders_gql.logs import CorrelationFilter, JsonFormatter
from orders_gql.settings import Settings

from ..conftest import http_client
from .graphql_client import CREATE, UPDATE, create_order, gql, order_input


def sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if match and ",".join(sorted((match.group(1) or "").split(","))).strip(",") == wanted:
            return float(match.group(2))
    return 0.0


async def test_metrics_count_commands_by_outcome_and_events(client: httpx.AsyncClient) -> None:
    before = (await client.get("/metrics")).text
    order_id = (await create_order(client))["order"]["orderId"]
    await gql(client, UPDATE, {"id": order_id, "status": "DELIVERED"})
    response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("orders_commands_total", command="createOrder", outcome="ok") == 1
    assert (
        delta(
            "orders_commands_total",
            command="updateOrderStatus",
            outcome="INVALID_STATUS_TRANSITION",
        )
        == 1
    )
    assert delta("orders_events_appended_total", type="OrderCreated") == 1
    assert "orders_projector_lag_events" in after and "orders_subscribers" in after


async def test_json_logs_carry_the_responses_correlation_id(client: httpx.AsyncClient) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CorrelationFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("orders_gql.commands")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        response = await client.post(
            "/graphql",
            json={"query": CREATE, "variables": {"input": order_input()}},
            headers={"X-Correlation-ID": "cid-42"},
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert response.headers["x-correlation-id"] == "cid-42"
    (line,) = [orjson.loads(text) for text in stream.getvalue().splitlines()]
    assert line["correlationId"] == "cid-42"
    assert line["message"].startswith("createOrder on order ")
    assert line["level"] == "debug" and line["logger"] == "orders_gql.commands"


async def test_projector_lag_is_reported_per_partition(settings: Settings) -> None:
    stopped = dataclasses.replace(settings, projector=False)
    async with http_client(stopped) as client:
        for _ in range(3):
            await create_order(client)
        text = (await client.get("/metrics")).text
    assert sample(text, "orders_projector_lag_events", partition="0") == 3
    assert sample(text, "orders_projector_lag_seconds", partition="0") >= 0
    assert "orders_dead_letters 0.0" in text


async def test_lag_drops_to_zero_once_projected(client: httpx.AsyncClient) -> None:
    before = (await client.get("/metrics")).text
    created = await create_order(client)
    query = "query($p: String) { orders(consistentWith: $p) { totalCount } }"
    await gql(client, query, {"p": created["position"]})
    after = (await client.get("/metrics")).text
    assert sample(after, "orders_projector_lag_events", partition="0") == 0
    assert sample(after, "orders_projected_events_total") > sample(
        before, "orders_projected_events_total"
    )
