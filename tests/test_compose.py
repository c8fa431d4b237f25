"""compose.yaml and the Dockerfile agree with the code: every orders-gql
command is a valid CLI invocation, every ORDERS_* variable is a known setting
with a valid value, and the image gets every file the package build reads."""

from __future__ import annotations

import tomllib
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


def test_the_image_copies_every_file_the_package_build_reads() -> None:
    # pyproject.toml names its readme and license files: a Dockerfile that
    # does not copy them in before `pip install .` fails to build the image.
    project = tomllib.loads((COMPOSE.parent / "pyproject.toml").read_text())["project"]
    needed = {project["readme"], *project.get("license-files", [])}
    lines = (COMPOSE.parent / "Dockerfile").read_text().splitlines()
    install = next(i for i, line in enumerate(lines) if line.startswith("RUN pip install"))
    copied = {
        name for line in lines[:install] if line.startswith("COPY ") for name in line.split()[1:-1]
    }
    assert needed <= copied, f"the Dockerfile does not copy {sorted(needed - copied)}"
    assert all((COMPOSE.parent / name).is_file() for name in needed)
