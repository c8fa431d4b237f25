"""Queries answered from the read models, through HTTP, with the projector
running in the app (read your writes via consistentWith)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx

from .gql import CANCEL, DELETE, change, create, gql, ok

ORDERS = """
query($filter: OrderFilter, $first: Int, $after: String, $pos: String) {
  orders(filter: $filter, first: $first, after: $after, consistentWith: $pos) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { orderId customerName status totalAmount version
                          statusHistory { status version } } }
  }
}"""

ORDER = """
query($id: ID!, $v: Int, $pos: String) {
  order(orderId: $id, asOfVersion: $v, consistentWith: $pos) {
    orderId status version deleted cancellationReason totalAmount
    items { productName quantity price subtotal }
    statusHistory { status at version }
  }
}"""


def ids(data: dict) -> list[str]:  # type: ignore[type-arg]
    return [e["node"]["orderId"] for e in data["edges"]]


async def test_created_order_is_listed_at_once_with_consistent_with(
    client: httpx.AsyncClient,
) -> None:
    order_id, pos = await create(client, items=[("Mug", 2, "9.99"), ("Tea", 1, "3.00")])
    data = await ok(client, ORDER, id=order_id, pos=pos)
    order = data["order"]
    assert order["status"] == "PENDING"
    assert Decimal(order["totalAmount"]) == Decimal("22.98")
    assert order["items"][0] == {
        "productName": "Mug", "quantity": 2, "price": "9.99", "subtotal": "19.98"
    }  # fmt: skip
    assert [h["status"] for h in order["statusHistory"]] == ["PENDING"]
    listed = await ok(client, ORDERS, pos=pos)
    assert ids(listed["orders"]) == [order_id]
    assert listed["orders"]["totalCount"] == 1


async def test_status_history_and_as_of_version(client: httpx.AsyncClient) -> None:
    order_id, _ = await create(client)
    await change(client, order_id, "CONFIRMED")
    pos = await change(client, order_id, "PROCESSING")
    now = (await ok(client, ORDER, id=order_id, pos=pos))["order"]
    assert now["version"] == 3
    assert [(h["status"], h["version"]) for h in now["statusHistory"]] == [
        ("PENDING", 1), ("CONFIRMED", 2), ("PROCESSING", 3)
    ]  # fmt: skip
    then = (await ok(client, ORDER, id=order_id, v=2))["order"]
    assert (then["status"], then["version"]) == ("CONFIRMED", 2)


async def test_pagination_walks_every_order_once_newest_first(client: httpx.AsyncClient) -> None:
    created = [(await create(client, name=f"Customer {n}"))[0] for n in range(7)]
    pos = (await create(client, name="Last One"))[1]
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        data = (await ok(client, ORDERS, first=3, after=after, pos=pos))["orders"]
        assert data["totalCount"] == 8
        seen += ids(data)
        pages += 1
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert pages == 3
    assert len(seen) == len(set(seen)) == 8
    assert seen[1:] == list(reversed(created))


async def test_amount_bounds_are_exact_for_any_decimals_and_any_size(
    client: httpx.AsyncClient,
) -> None:
    free, _ = await create(client, items=[("Sample", 1, "0.00")])
    below, _ = await create(client, items=[("Lamp", 2, "19.99")])  # 39.98
    above, pos = await create(client, items=[("Lamp", 1, "39.99")])

    async def listed(**f: object) -> list[str]:
        return ids((await ok(client, ORDERS, filter=f, pos=pos))["orders"])

    assert await listed(minAmount="0.005") == [above, below]
    assert await listed(maxAmount="39.975") == [free]
    assert await listed(minAmount="39.985") == [above]
    assert await listed(minAmount="39.98", maxAmount="39.98") == [below]
    # past every order's total (and MongoDB's 64-bit integers): still a bound
    assert await listed(maxAmount="99999999999999999999") == [above, below, free]
    assert await listed(maxAmount="1" + "0" * 60) == [above, below, free]
    assert await listed(minAmount="99999999999999999999") == []
    assert await listed(minAmount="1" + "0" * 60 + ".5") == []


async def test_filters_by_status_email_dates_and_amounts(client: httpx.AsyncClient) -> None:
    cheap, _ = await create(client, email="a@example.com", items=[("Pen", 1, "5.00")])
    dear, _ = await create(client, email="b@example.com", items=[("Desk", 1, "500.00")])
    mid, pos = await create(client, email="a@example.com", items=[("Lamp", 2, "25.00")])
    pos = await change(client, mid, "CONFIRMED")

    async def listed(**f: object) -> list[str]:
        return ids((await ok(client, ORDERS, filter=f, pos=pos))["orders"])

    assert await listed(status="CONFIRMED") == [mid]
    assert await listed(customerEmail="a@EXAMPLE.com") == [mid, cheap]
    assert await listed(minAmount="10", maxAmount="100") == [mid]
    assert await listed(minAmount="500.00") == [dear]
    assert await listed(fromDate="2000-01-01T00:00:00Z", toDate="2999-01-01T00:00:00Z") == [
        mid, dear, cheap
    ]  # fmt: skip
    assert await listed(toDate="2000-01-01T00:00:00Z") == []
    by_status = await ok(
        client,
        "query($p: String){ ordersByStatus(status: PENDING, consistentWith: $p)"
        "{ edges { node { orderId } } } }",
        p=pos,
    )
    assert ids(by_status["ordersByStatus"]) == [dear, cheap]
    mine = await ok(
        client,
        'query($p: String){ customerOrders(customerEmail: "a@example.com", consistentWith: $p)'
        "{ totalCount edges { node { orderId } } } }",
        p=pos,
    )
    assert ids(mine["customerOrders"]) == [mid, cheap]


async def test_search_is_literal_and_case_insensitive(client: httpx.AsyncClient) -> None:
    regexy, _ = await create(client, name="Ann (a.k.a. *)", items=[("C++ Book [2e]", 1, "30.00")])
    _, pos = await create(client, name="Annabel", email="annabel@shop.example")
    query = (
        "query($q: String!, $p: String){ searchOrders(q: $q, consistentWith: $p)"
        "{ totalCount edges { node { orderId customerName } } } }"
    )

    async def found(q: str) -> list[str]:
        return [e["node"]["customerName"] for e in
                (await ok(client, query, q=q, p=pos))["searchOrders"]["edges"]]  # fmt: skip

    assert await found("(A.K.A. *)") == ["Ann (a.k.a. *)"]
    assert await found("c++ book [2E]") == ["Ann (a.k.a. *)"]
    assert await found(".*") == []
    assert await found("ANNABEL@SHOP") == ["Annabel"]
    assert sorted(await found("ann")) == ["Ann (a.k.a. *)", "Annabel"]
    assert regexy
    for bad in ("", "   ", "x" * 101):
        body = await gql(client, query, q=bad)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert body["errors"][0]["extensions"]["field"] == "q"


async def test_deleted_order_vanishes_but_keeps_its_history(client: httpx.AsyncClient) -> None:
    keep, _ = await create(client)
    gone, _ = await create(client)
    data = await ok(client, DELETE, id=gone)
    pos = data["deleteOrder"]["position"]
    assert ids((await ok(client, ORDERS, pos=pos))["orders"]) == [keep]
    assert (await ok(client, ORDER, id=gone, pos=pos))["order"] is None
    summary = await ok(client, "{ orderSummary { totalOrders } }")
    assert summary["orderSummary"]["totalOrders"] == 1
    history = await ok(client, "query($id: ID!){ orderHistory(orderId: $id) { type } }", id=gone)
    assert [e["type"] for e in history["orderHistory"]] == ["OrderCreated", "OrderDeleted"]


async def test_summary_and_top_customers(client: httpx.AsyncClient) -> None:
    a1, _ = await create(client, name="Ann", email="ann@example.com", items=[("A", 1, "10.00")])
    await create(client, name="Ann B", email="ann@example.com", items=[("B", 1, "5.50")])
    await create(client, name="Bob", email="bob@example.com", items=[("C", 1, "12.00")])
    c1, _ = await create(client, name="Cy", email="cy@example.com", items=[("D", 1, "99.00")])
    await ok(client, CANCEL, id=c1, reason="changed my mind")
    pos = await change(client, a1, "CONFIRMED")
    data = await ok(
        client,
        """query($p: String) {
          orderSummary(consistentWith: $p) { totalOrders totalRevenue
            ordersByStatus { status count } revenueByStatus { status revenue }
            ordersByMonth { month count } }
          topCustomers(limit: 2, consistentWith: $p) {
            customerEmail customerName orderCount totalSpent }
        }""",
        p=pos,
    )
    s = data["orderSummary"]
    assert s["totalOrders"] == 4
    assert Decimal(s["totalRevenue"]) == Decimal("27.50")
    counts = {x["status"]: x["count"] for x in s["ordersByStatus"]}
    assert counts == {"PENDING": 2, "CONFIRMED": 1, "CANCELLED": 1, "PROCESSING": 0,
                      "SHIPPED": 0, "DELIVERED": 0}  # fmt: skip
    revenue = {x["status"]: Decimal(x["revenue"]) for x in s["revenueByStatus"]}
    assert revenue["CONFIRMED"] == Decimal("10.00")
    assert revenue["PENDING"] == Decimal("17.50")
    assert revenue["CANCELLED"] == 0
    assert sum(x["count"] for x in s["ordersByMonth"]) == 4
    assert data["topCustomers"] == [
        {"customerEmail": "ann@example.com", "customerName": "Ann B", "orderCount": 2,
         "totalSpent": "15.50"},
        {"customerEmail": "bob@example.com", "customerName": "Bob", "orderCount": 1,
         "totalSpent": "12.00"},
    ]  # fmt: skip


async def test_an_email_is_one_customer_whatever_its_case(client: httpx.AsyncClient) -> None:
    first, _ = await create(client, email="ADA@example.com", items=[("Pen", 1, "5.00")])
    second, pos = await create(client, email="ada@Example.COM", items=[("Pen", 1, "7.00")])
    data = await ok(
        client,
        'query($p: String){ orders(filter: {customerEmail: "Ada@EXAMPLE.com"},'
        " consistentWith: $p) { edges { node { orderId customerEmail } } }"
        " topCustomers(limit: 5, consistentWith: $p) { customerEmail orderCount totalSpent } }",
        p=pos,
    )
    nodes = [e["node"] for e in data["orders"]["edges"]]
    assert nodes == [
        {"orderId": second, "customerEmail": "ada@example.com"},
        {"orderId": first, "customerEmail": "ada@example.com"},
    ]
    assert data["topCustomers"] == [
        {"customerEmail": "ada@example.com", "orderCount": 2, "totalSpent": "12.00"}
    ]


async def test_bad_arguments_are_top_level_errors_with_a_field(client: httpx.AsyncClient) -> None:
    cases = [
        ("{ orders(first: 0) { totalCount } }", "first"),
        ("{ orders(first: 101) { totalCount } }", "first"),
        ('{ orders(after: "nope!") { totalCount } }', "after"),
        ('{ orders(filter: {minAmount: "5", maxAmount: "1"}) { totalCount } }', "filter.maxAmount"),
        (
            '{ orders(filter: {customerEmail: "not-an-email"}) { totalCount } }',
            "filter.customerEmail",
        ),
        (
            '{ orders(filter: {fromDate: "2026-02-01T00:00:00Z", toDate: "2026-01-01T00:00:00Z"})'
            " { totalCount } }",
            "filter.toDate",
        ),
        ("{ topCustomers(limit: 0) { customerEmail } }", "limit"),
        ('{ order(orderId: "bad id!") { orderId } }', "orderId"),
        ('{ orderHistory(orderId: "") { type } }', "orderId"),
        ('{ orders(consistentWith: "yesterday") { totalCount } }', "consistentWith"),
        ('{ customerOrders(customerEmail: "x") { totalCount } }', "customerEmail"),
    ]
    for query, field in cases:
        body = await gql(client, query)
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (query, error)
        assert error["extensions"]["field"] == field, (query, error)
        assert not error["message"].startswith(f"{field}: {field}:"), (query, error)


async def test_a_version_the_order_has_not_reached_is_refused(client: httpx.AsyncClient) -> None:
    order_id, _ = await create(client)
    assert (await ok(client, ORDER, id=order_id, v=1))["order"]["version"] == 1
    body = await gql(client, ORDER, id=order_id, v=2)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "asOfVersion"
    assert "version 1" in error["message"]


async def test_unknown_order_is_null(client: httpx.AsyncClient) -> None:
    assert (await ok(client, ORDER, id="no-such-order"))["order"] is None


async def test_concurrent_single_order_reads_each_get_their_order(
    client: httpx.AsyncClient,
) -> None:
    # Reads that arrive together are answered by one MongoDB query
    # (readside.pointreads); each request must still get its own order.
    created = [await create(client, name=f"Customer {n}") for n in range(4)]
    pos = created[-1][1]
    wanted = [oid for oid, _ in created] * 2 + ["o-unknown-1"]
    answers = await asyncio.gather(*(ok(client, ORDER, id=oid, pos=pos) for oid in wanted))
    got = [a["order"] and a["order"]["orderId"] for a in answers]
    assert got == [*wanted[:-1], None]


async def test_an_order_shows_one_order_date_wherever_it_is_read(client: httpx.AsyncClient) -> None:
    # The mutation answered from the write side with microseconds, the lists
    # from MongoDB with milliseconds: a client cache saw the date change, and
    # a fromDate set from the mutation's answer left the order out.
    data = await ok(
        client,
        "mutation($in: CreateOrderInput!) { createOrder(input: $in) "
        "{ ... on OrderPayload { position order { orderId orderDate updatedAt } } } }",
        **{"in": {"customerName": "Ada Example", "customerEmail": "ada@example.com",
                  "items": [{"productId": "p1", "productName": "Mug", "quantity": 1,
                             "price": "2.00"}]}},
    )  # fmt: skip
    created = data["createOrder"]
    order, pos = created["order"], created["position"]
    read = await ok(
        client,
        "query($id: ID!, $pos: String, $d: DateTime) { order(orderId: $id, consistentWith: $pos)"
        " { orderDate updatedAt } orders(filter: {fromDate: $d, toDate: $d}, consistentWith: $pos)"
        " { totalCount edges { node { orderId } } } }",
        id=order["orderId"],
        pos=pos,
        d=order["orderDate"],
    )
    assert read["order"] == {"orderDate": order["orderDate"], "updatedAt": order["updatedAt"]}
    assert read["orders"]["totalCount"] == 1
    assert read["orders"]["edges"] == [{"node": {"orderId": order["orderId"]}}]


async def test_total_count_is_the_number_of_orders_every_filter_lists(
    client: httpx.AsyncClient,
) -> None:
    """The counts of no filter and of a status alone come from the summary,
    the others from the views: each equals what the list holds, deleted
    orders left out, and follows cancelling and deleting."""
    a = [(await create(client, email="a@example.com"))[0] for _ in range(3)]
    b = [(await create(client, email="b@example.com", items=[("Desk", 1, "500.00")]))[0]
         for _ in range(2)]  # fmt: skip
    await change(client, a[0], "CONFIRMED")
    await change(client, b[0], "CONFIRMED")
    (await ok(client, CANCEL, id=a[1], reason="changed my mind"))
    pos = (await ok(client, DELETE, id=b[1]))["deleteOrder"]["position"]
    filters: list[dict[str, object]] = [
        {}, {"status": "PENDING"}, {"status": "CONFIRMED"}, {"status": "CANCELLED"},
        {"status": "DELIVERED"}, {"customerEmail": "a@example.com"},
        {"status": "CONFIRMED", "customerEmail": "b@example.com"}, {"minAmount": "100"},
    ]  # fmt: skip
    counts = {}
    for f in filters:
        data = (await ok(client, ORDERS, filter=f, first=100, pos=pos))["orders"]
        assert data["totalCount"] == len(data["edges"]), f
        counts[str(f)] = data["totalCount"]
    assert list(counts.values()) == [4, 1, 2, 1, 0, 3, 1, 1]
