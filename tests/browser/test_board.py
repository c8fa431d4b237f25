"""The live order board in a real browser: an order created through the API
appears in the PENDING column, moves to CONFIRMED when its status changes,
and the summary figures follow."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import httpx
import redis

from orders_gql.eventstore.keys import KeySpace
from orders_gql.settings import Settings

CREATE = """mutation {
  createOrder(input: {customerName: "Katherine Johnson", customerEmail: "kj@example.com",
    items: [{productId: "sku-9", productName: "Slide rule", quantity: 3, price: "12.50"}]}) {
    ... on OrderPayload { order { orderId } position }
  }
}"""
CONFIRM = """mutation($id: ID!) {
  updateOrderStatus(orderId: $id, status: CONFIRMED) { __typename }
}"""
BY_STATUS = """query($status: OrderStatus!, $at: String) {
  ordersByStatus(status: $status, first: 100, consistentWith: $at) { edges { node { orderId } } }
}"""
STATUSES = ("PENDING", "CONFIRMED", "PROCESSING", "SHIPPED", "DELIVERED", "CANCELLED")
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


def last_position(settings: Settings) -> str:
    assert settings.redis_url
    client = redis.Redis.from_url(settings.redis_url)
    try:
        newest = client.xrevrange(KeySpace(settings.key_prefix).log(), count=1)
    finally:
        client.close()
    return str(newest[0][0].decode())


def test_board_misses_nothing_written_while_it_opens(
    page: Any, live_url: str, settings: Settings
) -> None:
    from playwright.sync_api import expect

    env = {
        **os.environ,
        "ORDERS_REDIS_URL": settings.redis_url or "",
        "ORDERS_KEY_PREFIX": settings.key_prefix,
        "ORDERS_DATA_DIR": "/nonexistent",
    }
    demo = subprocess.Popen(
        [sys.executable, "-m", "orders_gql", "demo-data", "60", "--concurrency", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        page.goto(f"{live_url}/board")  # loads and subscribes while the orders flow
        assert demo.wait(60) == 0
    finally:
        demo.kill()
    at = last_position(settings)

    for status in STATUSES:
        edges = gql(live_url, BY_STATUS, status=status, at=at)["ordersByStatus"]["edges"]
        expected = sorted(edge["node"]["orderId"] for edge in edges)
        cards = page.locator(f"{column(status)} [data-order-id]")
        expect(cards).to_have_count(len(expected), timeout=PATIENCE_MS)
        shown = sorted(cards.evaluate_all("cards => cards.map(c => c.dataset.orderId)"))
        assert shown == expected, status
        expect(page.locator(f"{column(status)} .count")).to_have_text(str(len(expected)))
    expect(page.locator("#connection")).to_have_text("Live")


def test_an_order_created_between_listing_and_subscribing_still_appears(
    page: Any, live_url: str
) -> None:
    from playwright.sync_api import expect

    created: list[str] = []

    def list_then_create(route: Any) -> None:
        if "BoardOrders" not in (route.request.post_data or ""):
            route.continue_()
            return
        listed = route.fetch()  # the server answers now, without the new order...
        created.append(gql(live_url, CREATE)["createOrder"]["order"]["orderId"])
        route.fulfill(response=listed)  # ...and the board subscribes only after that

    page.route("**/graphql", list_then_create)
    page.goto(f"{live_url}/board")

    expect(page.locator("#connection")).to_have_text("Live", timeout=PATIENCE_MS)
    assert len(created) == 1
    card = page.locator(f'{column("PENDING")} [data-order-id="{created[0]}"]')
    expect(card).to_contain_text("Katherine Johnson", timeout=PATIENCE_MS)


def test_board_catches_up_after_its_connection_drops(page: Any, live_url: str) -> None:
    from playwright.sync_api import expect

    sockets: list[Any] = []
    refuse = [False]

    def through(ws: Any) -> None:  # the board's websocket, via a switch the test holds
        if refuse[0]:
            ws.close(code=1013, reason="try again later")
            return
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket("**/graphql", through)
    page.goto(f"{live_url}/board")
    status = page.locator("#connection")
    expect(status).to_have_text("Live", timeout=PATIENCE_MS)
    first = gql(live_url, CREATE)["createOrder"]["order"]["orderId"]
    expect(page.locator(f'[data-order-id="{first}"]')).to_be_visible(timeout=PATIENCE_MS)

    refuse[0] = True
    sockets[-1].close(code=1001, reason="going away")
    expect(status).to_contain_text("Not connected", timeout=PATIENCE_MS)
    second = gql(live_url, CREATE)["createOrder"]["order"]["orderId"]  # while it is away
    gql(live_url, CONFIRM, id=first)
    refuse[0] = False

    expect(status).to_have_text("Live", timeout=PATIENCE_MS)
    expect(page.locator(f'{column("PENDING")} [data-order-id="{second}"]')).to_be_visible(
        timeout=PATIENCE_MS
    )
    expect(page.locator(f'{column("CONFIRMED")} [data-order-id="{first}"]')).to_be_visible(
        timeout=PATIENCE_MS
    )
    expect(page.locator("#total-orders")).to_have_text("2", timeout=PATIENCE_MS)
