"""The committed SDL is the schema the server serves."""

from __future__ import annotations

from pathlib import Path

from orders_gql.api.schema import schema

SDL = Path(__file__).parents[2] / "schema.graphql"


def test_schema_graphql_is_up_to_date() -> None:
    assert SDL.read_text() == schema.as_str() + "\n", (
        "regenerate it: .venv/bin/orders-gql export-schema > schema.graphql"
    )
