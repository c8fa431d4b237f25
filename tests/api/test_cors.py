"""A frontend served from another origin (a dev server on :3000, say) calls
the API from the browser when ORDERS_CORS_ORIGINS names that origin."""

from __future__ import annotations

from dataclasses import replace

import pytest

from orders_gql.settings import Settings, SettingsError

from ..conftest import http_client

FRONTEND = "http://localhost:3000"
PREFLIGHT = {
    "Origin": FRONTEND,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type,authorization",
}


async def test_a_named_origin_may_call_the_api(settings: Settings) -> None:
    async with http_client(
        replace(settings, cors_origins=f"{FRONTEND}/, https://shop.example")
    ) as c:
        preflight = await c.options("/graphql", headers=PREFLIGHT)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == FRONTEND
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()

        answer = await c.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": FRONTEND}
        )
        assert answer.json() == {"data": {"__typename": "Query"}}
        assert answer.headers["access-control-allow-origin"] == FRONTEND
        assert "x-correlation-id" in answer.headers["access-control-expose-headers"].lower()

        other = await c.options("/graphql", headers={**PREFLIGHT, "Origin": "https://evil.example"})
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers


async def test_without_the_setting_no_origin_is_allowed(settings: Settings) -> None:
    async with http_client(settings) as c:
        answer = await c.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": FRONTEND}
        )
        assert "access-control-allow-origin" not in answer.headers
        assert (await c.options("/graphql", headers=PREFLIGHT)).status_code == 405


def test_an_origin_without_a_scheme_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="ORDERS_CORS_ORIGINS"):
        Settings.from_env({"ORDERS_CORS_ORIGINS": "localhost:3000"})
