"""The committed SDL is the schema the code serves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
