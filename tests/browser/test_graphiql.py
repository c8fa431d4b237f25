"""GraphiQL in a real browser: the page loads (from our own assets, no CDN),
runs createOrder and a query, and shows their results."""

from __future__ import annotations

import json
from typing import Any

import httpx

CREATE = """mutation {
  createOrder(input: {customerName: "Grace Hopper", customerEmail: "grace@example.com",
    items: [{productId: "sku-7", productName: "Compiler", quantity: 3, price: "12.50"}]}) {
    __typename
    ... on OrderPayload { order { orderId status totalAmount } }
  }
}"""


def set_query(page: Any, query: str) -> None:
    """Put the operation into GraphiQL's editor and wait until GraphiQL took
    the edit in (it then writes it into the page's address): pressed before,
    the run button still sees the example document's three operations and
    offers a menu of them instead of running."""
    page.wait_for_selector(".graphiql-query-editor .CodeMirror")
    page.evaluate(
        "q => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q)",
        query,
    )
    page.wait_for_function(
        "q => new URLSearchParams(window.location.search).get('q') === q", arg=query
    )


def run_in_graphiql(page: Any, query: str) -> dict[str, Any]:
    """Type the operation into GraphiQL's editor, press run, read the result pane."""
    set_query(page, query)
    page.click(".graphiql-execute-button")
    page.wait_for_function(
        "() => { const t = document.querySelector('.result-window .CodeMirror')"
        ".CodeMirror.getValue(); return t.includes('\"data\"') || t.includes('\"errors\"'); }"
    )
    shown = page.evaluate(
        "() => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()"
    )
    # What the pane shows is also visible text on the page:
    assert '"data"' in page.inner_text(".result-window")
    result: dict[str, Any] = json.loads(shown)
    return result


def test_graphiql_creates_an_order_and_queries_it(page: Any, live_url: str) -> None:
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(f"{live_url}/graphql", wait_until="networkidle")
    assert "GraphiQL" in page.title() or page.locator(".graphiql-container").count() == 1
    assert failed == []  # every asset came from the server itself

    created = run_in_graphiql(page, CREATE)["data"]["createOrder"]
    assert created["__typename"] == "OrderPayload"
    assert created["order"]["status"] == "PENDING"
    assert created["order"]["totalAmount"] == "37.50"

    order_id = created["order"]["orderId"]
    history = run_in_graphiql(
        page, f'{{ orderHistory(orderId: "{order_id}") {{ type version data }} }}'
    )["data"]["orderHistory"]
    assert [(h["type"], h["version"]) for h in history] == [("OrderCreated", 1)]
    assert history[0]["data"]["customerEmail"] == "grace@example.com"


def test_graphiql_shows_a_subscription_s_events_as_they_happen(page: Any, live_url: str) -> None:
    page.goto(f"{live_url}/graphql", wait_until="networkidle")
    set_query(
        page, 'subscription { orderEvents(customerEmail: "grace@example.com") { type orderId } }'
    )
    page.click(".graphiql-execute-button")
    page.wait_for_timeout(1000)  # the websocket connects and subscribes

    created = httpx.post(f"{live_url}/graphql", json={"query": CREATE}).json()
    order_id = created["data"]["createOrder"]["order"]["orderId"]

    page.wait_for_function(
        "id => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()"
        ".includes(id)",
        arg=order_id,
        timeout=15_000,
    )
    shown = json.loads(
        page.evaluate(
            "() => document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()"
        )
    )
    assert shown["data"]["orderEvents"] == {"type": "OrderCreated", "orderId": order_id}
