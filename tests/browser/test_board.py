"""The live order board in a real browser: an order created through the API
appears in the PENDING column, moves to CONFIRMED when its status changes,
and the summary figures follow."""

from __future__ import annotations

from typing import Any

import httpx

CREATE = """mutation {
  createOrder(input: {customerName: "Katherine Johnson", customerEmail: "kj@example.com",
    items: [{productId: "sku-9", productName: "Slide rule", quantity: 3, price: "12.50"}]}) {
    ... on OrderPayload { order { orderId } position }
  }
}"""
CONFIRM = """mutation($id: ID!) {
  updateOrderStatus(orderId: $id, status: CONFIRMED) { __typename }
}"""
#: Generous: a loaded CI machine may be slow; nothing here waits when it need not.
PATIENCE_MS = 15_000


def gql(live_url: str, query: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{live_url}/graphql", json={"query": query, "variables": variables}, timeout=10
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return dict(body["data"])


def column(status: str) -> str:
    return f'.column[data-status="{status}"]'


def test_board_shows_an_order_arrive_and_move(page: Any, live_url: str) -> None:
    from playwright.sync_api import expect

    failed: list[str] = []
    errors: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_url}/board")
    expect(page.locator("#connection")).to_have_text("Live", timeout=PATIENCE_MS)
    expect(page.locator("#total-orders")).to_have_text("0", timeout=PATIENCE_MS)

    created = gql(live_url, CREATE)["createOrder"]
    order_id = created["order"]["orderId"]

    card = page.locator(f'{column("PENDING")} [data-order-id="{order_id}"]')
    expect(card).to_be_visible(timeout=PATIENCE_MS)
    expect(card).to_contain_text("Katherine Johnson")
    expect(card).to_contain_text("3 × Slide rule")
    expect(card).to_contain_text("37.50")
    expect(page.locator("#total-orders")).to_have_text("1", timeout=PATIENCE_MS)
    expect(page.locator("#total-revenue")).to_have_text("37.50", timeout=PATIENCE_MS)
    expect(page.locator(f"{column('PENDING')} .count")).to_have_text("1", timeout=PATIENCE_MS)

    gql(live_url, CONFIRM, id=order_id)

    moved = page.locator(f'{column("CONFIRMED")} [data-order-id="{order_id}"]')
    expect(moved).to_be_visible(timeout=PATIENCE_MS)
    expect(moved).to_contain_text("Katherine Johnson")
    expect(page.locator(f'[data-order-id="{order_id}"]')).to_have_count(1)  # moved, not copied
    expect(page.locator(f"{column('CONFIRMED')} .count")).to_have_text("1", timeout=PATIENCE_MS)
    expect(page.locator(f"{column('PENDING')} .count")).to_have_text("0", timeout=PATIENCE_MS)
    assert failed == []  # everything, the websocket included, came from the server itself
    assert errors == []


def test_board_lists_the_orders_that_exist_when_it_opens(page: Any, live_url: str) -> None:
    from playwright.sync_api import expect

    order_id = gql(live_url, CREATE)["createOrder"]["order"]["orderId"]
    gql(live_url, CONFIRM, id=order_id)

    page.goto(f"{live_url}/board")

    card = page.locator(f'{column("CONFIRMED")} [data-order-id="{order_id}"]')
    expect(card).to_be_visible(timeout=PATIENCE_MS)
    expect(page.locator(f'[data-order-id="{order_id}"]')).to_have_count(1)
    expect(page.locator("#total-orders")).to_have_text("1", timeout=PATIENCE_MS)
    expect(page.locator("#connection")).to_have_text("Live", timeout=PATIENCE_MS)
