"""The committed SDL is the schema the code serves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from graphql import GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

from orders_gql.api.schema import schema

ROOT = Path(__file__).resolve().parent.parent


def test_schema_graphql_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == schema.as_str() + "\n", (
        "schema.graphql drifted: run `orders-gql export-schema > schema.graphql`"
    )


def test_export_schema_command_prints_the_sdl() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "orders_gql", "export-schema"],
        check=True, capture_output=True, text=True, cwd=ROOT,
    ).stdout  # fmt: skip
    assert out == (ROOT / "schema.graphql").read_text()


#: Names whose meaning the schema's types already give (an order's id, a
#: status, Relay's connection parts), left without a description of their own.
SELF_EXPLANATORY = {
    "orderId", "status", "input", "filter", "customerEmail", "customerName", "productName",
    "items", "order", "edges", "node", "cursor", "pageInfo", "hasNextPage",
}  # fmt: skip


def test_every_other_field_and_argument_is_described_for_graphiql() -> None:
    """GraphiQL's documentation explorer shows these descriptions: the bounds
    of an input, what a figure counts, what a position is for."""
    undescribed = []
    for name, kind in schema._schema.type_map.items():
        if name.startswith("__") or not isinstance(
            kind, GraphQLObjectType | GraphQLInputObjectType | GraphQLInterfaceType
        ):
            continue
        for field_name, field in kind.fields.items():
            if not field.description and field_name not in SELF_EXPLANATORY:
                undescribed.append(f"{name}.{field_name}")
            for arg_name, arg in getattr(field, "args", {}).items():
                if not arg.description and arg_name not in SELF_EXPLANATORY:
                    undescribed.append(f"{name}.{field_name}({arg_name})")
    assert undescribed == []
