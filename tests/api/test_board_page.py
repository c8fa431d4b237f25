"""/board is served with its assets from this package (the browser tests drive it)."""

from __future__ import annotations

import httpx


async def test_board_page_and_its_assets_are_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/board")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Live order board</h1>" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("board.js", "columns.js", "gql.js", "orders.js", "summary.js"):
        script = await client.get(f"/static/board/{asset}")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]  # loadable as an ES module
    assert (await client.get("/static/board/board.css")).status_code == 200
