"""compose.yaml agrees with the code: every orders-gql command is a valid CLI
invocation and every ORDERS_* variable is a known setting with a valid value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from orders_gql.cli import build_parser
from orders_gql.settings import Settings, known_variables

COMPOSE = Path(__file__).resolve().parent.parent / "compose.yaml"


def services() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(COMPOSE.read_text())
    found: dict[str, dict[str, Any]] = doc["services"]
    return found


def ours() -> list[str]:
    return [name for name, s in services().items() if (s.get("command") or [""])[0] == "orders-gql"]


def test_the_stack_has_the_expected_shape() -> None:
    svc = services()
    assert {"redis", "mongo", "api", "projector"} <= set(svc)
    assert "--replSet" in svc["mongo"]["command"]
    assert "--appendonly" in svc["redis"]["command"]
    assert svc["api"]["deploy"]["replicas"] > 1
    assert "--no-projector" in svc["api"]["command"]
    assert svc["projector"]["command"][:2] == ["orders-gql", "project"]
    for name in svc:
        assert "healthcheck" in svc[name] or name == "projector", name


@pytest.mark.parametrize("name", ours())
def test_each_command_is_a_valid_invocation(name: str) -> None:
    command = services()[name]["command"]
    args = build_parser().parse_args(command[1:])  # exits (fails the test) if invalid
    assert callable(args.func)


@pytest.mark.parametrize("name", ours())
def test_each_variable_is_a_known_setting(name: str) -> None:
    env = {k: str(v) for k, v in services()[name]["environment"].items()}
    unknown = sorted(set(env) - set(known_variables()))
    assert unknown == [], f"{name} sets unknown variables {unknown}"
    settings = Settings.from_env(env)
    assert settings.redis_url and settings.mongodb_url
    assert "replicaSet=" in settings.mongodb_url
    assert settings.auth_enabled  # production requires credentials
