"""The board against a server that requires credentials: it says so, and works
once a token is typed into its field (HTTP header and connection_init)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import httpx
import jwt
import pytest

from orders_gql.settings import Settings

from .test_board import CREATE, PATIENCE_MS, column

SECRET = "board-test-secret-of-at-least-32-bytes!"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, auth="on", jwt_secret=SECRET)


def token(role: str, secret: str = SECRET) -> str:
    claims = {"sub": f"{role}-1", "role": role, "exp": int(time.time()) + 300}
    return jwt.encode(claims, secret, algorithm="HS256")


def test_board_asks_for_a_token_and_works_with_one(page: Any, live_url: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_url}/board")
    status = page.locator("#connection")
    expect(status).to_contain_text("This server needs a token", timeout=PATIENCE_MS)

    page.get_by_label("Token").fill(token("staff", secret="not-the-server-secret-but-long-enough"))
    page.get_by_role("button", name="Connect").click()
    expect(status).to_contain_text("The token was refused", timeout=PATIENCE_MS)

    page.get_by_label("Token").fill(token("staff"))
    page.get_by_role("button", name="Connect").click()
    expect(status).to_have_text("Live", timeout=PATIENCE_MS)

    response = httpx.post(
        f"{live_url}/graphql",
        json={"query": CREATE},
        headers={"Authorization": f"Bearer {token('admin')}"},
        timeout=10,
    )
    order_id = response.json()["data"]["createOrder"]["order"]["orderId"]
    card = page.locator(f'{column("PENDING")} [data-order-id="{order_id}"]')
    expect(card).to_contain_text("Katherine Johnson", timeout=PATIENCE_MS)
    expect(page.locator("#total-orders")).to_have_text("1", timeout=PATIENCE_MS)
