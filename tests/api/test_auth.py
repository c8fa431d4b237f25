"""Access control: each role against each operation, foreign orders, and bad
credentials, through HTTP."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from redis.asyncio import Redis

from orders_gql.eventstore.keys import KeySpace
from orders_gql.settings import Settings, SettingsError

from ..conftest import http_client
from .graphql_client import CANCEL, CREATE, DELETE, HISTORY, UPDATE, gql, order_input

SECRET = "test-secret-of-at-least-32-bytes-long!!"
ORDER = """query($id: ID!, $pos: String) {
  order(orderId: $id, consistentWith: $pos) { orderId customerEmail }
}"""
LIST = """query($email: String, $pos: String) {
  orders(filter: {customerEmail: $email}, consistentWith: $pos) {
    totalCount edges { node { customerEmail } }
  }
}"""


def token(role: str, email: str | None = None, *, secret: str = SECRET, ttl: int = 300) -> str:
    claims: dict[str, Any] = {"sub": f"{role}-1", "role": role, "exp": int(time.time()) + ttl}
    if email:
        claims["email"] = email
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


ADA = bearer(token("customer", "ada@example.com"))
BOB = bearer(token("customer", "bob@example.com"))
STAFF = bearer(token("staff"))
ADMIN = bearer(token("admin"))


@pytest.fixture
async def secured(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    keys = tmp_path / "api-keys.json"
    keys.write_text(json.dumps({"svc-key-123": {"name": "billing", "role": "staff"}}))
    on = dataclasses.replace(settings, auth="", jwt_secret=SECRET, api_keys_file=keys)
    async with http_client(on) as client:
        yield client


async def place(client: httpx.AsyncClient, headers: dict[str, str], email: str) -> dict[str, Any]:
    return await gql(client, CREATE, {"input": order_input(customerEmail=email)}, headers=headers)


async def test_missing_token_is_unauthenticated_and_writes_nothing(
    secured: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    body = await place(secured, {}, "ada@example.com")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await redis.xlen(keys.log()) == 0


@pytest.mark.parametrize(
    "headers",
    [
        bearer(token("staff", secret="another-secret-that-is-also-32-bytes!")),
        bearer(token("staff", ttl=-10)),
        bearer("not.a.jwt"),
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "wrong-key"},
        bearer(token("customer")),  # a customer token without an email
        bearer(token("superuser")),
    ],
    ids=["forged", "expired", "garbage", "basic", "unknown-key", "no-email", "unknown-role"],
)
async def test_bad_credentials_get_401(
    secured: httpx.AsyncClient, redis: Redis, keys: KeySpace, headers: dict[str, str]
) -> None:
    response = await secured.post(
        "/graphql",
        json={"query": CREATE, "variables": {"input": order_input()}},
        headers=headers,
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="orders-gql"'
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await redis.xlen(keys.log()) == 0


async def test_customer_creates_and_reads_only_their_own(secured: httpx.AsyncClient) -> None:
    mine = (await place(secured, ADA, "ada@example.com"))["data"]["createOrder"]
    assert mine["__typename"] == "OrderPayload"
    order_id = mine["order"]["orderId"]

    other = await place(secured, ADA, "bob@example.com")
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    pos = mine["position"]
    seen = await gql(secured, ORDER, {"id": order_id, "pos": pos}, headers=ADA)
    assert seen["data"]["order"]["orderId"] == order_id
    hidden = await gql(secured, ORDER, {"id": order_id, "pos": pos}, headers=BOB)
    assert hidden["data"]["order"] is None
    history = await gql(secured, HISTORY, {"id": order_id}, headers=BOB)
    assert history["data"]["orderHistory"] == []


OPERATIONS: dict[str, tuple[str, dict[str, Any], set[str]]] = {
    "updateOrderStatus": (UPDATE, {"status": "CONFIRMED"}, {"staff", "admin"}),
    "cancelOrder": (CANCEL, {"reason": "out of stock"}, {"staff", "admin"}),
    "deleteOrder": (DELETE, {}, {"admin"}),
}
ROLES = {"customer": ADA, "staff": STAFF, "admin": ADMIN, "service": {"X-API-Key": "svc-key-123"}}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("role", sorted(ROLES))
async def test_role_matrix_for_commands(
    secured: httpx.AsyncClient, redis: Redis, keys: KeySpace, operation: str, role: str
) -> None:
    order_id = (await place(secured, ADA, "ada@example.com"))["data"]["createOrder"]["order"][
        "orderId"
    ]
    document, variables, allowed = OPERATIONS[operation]
    body = await gql(secured, document, {"id": order_id, **variables}, headers=ROLES[role])
    effective = "staff" if role == "service" else role
    if effective in allowed:
        assert body["data"][operation]["__typename"] == "OrderPayload"
        assert await redis.xlen(keys.order(order_id)) == 2
    else:
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert await redis.xlen(keys.order(order_id)) == 1


async def test_staff_reads_everything(secured: httpx.AsyncClient) -> None:
    order_id = (await place(secured, BOB, "bob@example.com"))["data"]["createOrder"]["order"][
        "orderId"
    ]
    position = (await gql(secured, HISTORY, {"id": order_id}, headers=STAFF))["data"][
        "orderHistory"
    ][-1]["position"]
    body = await gql(secured, ORDER, {"id": order_id, "pos": position}, headers=STAFF)
    assert body["data"]["order"]["customerEmail"] == "bob@example.com"


async def test_rs256_tokens_from_a_jwks_file(settings: Settings, tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    on = dataclasses.replace(settings, auth="", jwks_file=jwks)
    claims = {"sub": "s", "role": "staff", "exp": int(time.time()) + 60}
    good = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k1"})
    unknown = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k2"})
    async with http_client(on) as client:
        ok = await gql(client, ORDER, {"id": "nope"}, headers=bearer(good))
        assert ok["data"] == {"order": None}
        refused = await client.post(
            "/graphql", json={"query": ORDER, "variables": {"id": "x"}}, headers=bearer(unknown)
        )
        assert refused.status_code == 401


def test_a_production_setup_without_auth_refuses_to_start(settings: Settings) -> None:
    with pytest.raises(SettingsError, match="not configured"):
        _ = dataclasses.replace(settings, auth="").auth_enabled
    with pytest.raises(SettingsError, match="needs"):
        Settings.from_env({"ORDERS_AUTH": "on"})


def test_a_jwt_secret_shorter_than_its_hash_refuses_to_start() -> None:
    # RFC 7518 3.2: an HS256 key at least as long as the hash, 32 bytes
    with pytest.raises(SettingsError, match="ORDERS_JWT_SECRET must be at least 32 bytes"):
        Settings.from_env({"ORDERS_JWT_SECRET": "short"})
    Settings.from_env({"ORDERS_JWT_SECRET": SECRET})


@pytest.mark.parametrize(
    ("variable", "content", "says"),
    [
        ("ORDERS_API_KEYS_FILE", "not json", "is not JSON"),
        ("ORDERS_API_KEYS_FILE", '["svc-key-123"]', "must be a JSON object of key -> {name, "),
        ("ORDERS_API_KEYS_FILE", '{"k": "staff"}', "must be a JSON object of key -> {name, "),
        ("ORDERS_API_KEYS_FILE", '{"k": {"role": "boss"}}', "unknown role 'boss'"),
        ("ORDERS_JWKS_FILE", "{", "is not JSON"),
        ("ORDERS_JWKS_FILE", '{"keys": [{"kty": "nonsense"}]}', "is not a JWK set"),
        ("ORDERS_JWKS_FILE", "[]", "is not a JWK set"),
    ],
)
def test_a_bad_credentials_file_refuses_to_start(
    tmp_path: Path, variable: str, content: str, says: str
) -> None:
    path = tmp_path / "credentials.json"
    path.write_text(content)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({variable: str(path)})
    assert str(refused.value).startswith(f"{variable}: {path}: ")
    assert says in str(refused.value)


async def test_customers_list_only_their_own_orders(secured: httpx.AsyncClient) -> None:
    await place(secured, BOB, "bob@example.com")
    pos = (await place(secured, ADA, "ada@example.com"))["data"]["createOrder"]["position"]
    mine = await gql(secured, LIST, {"pos": pos}, headers=ADA)
    emails = {e["node"]["customerEmail"] for e in mine["data"]["orders"]["edges"]}
    assert emails == {"ada@example.com"}
    # counted among their own orders too, not from the shop's summary
    assert mine["data"]["orders"]["totalCount"] == 1
    pending = await gql(
        secured,
        "query($p: String){ ordersByStatus(status: PENDING, consistentWith: $p) { totalCount } }",
        {"p": pos},
        headers=ADA,
    )
    assert pending["data"]["ordersByStatus"]["totalCount"] == 1, pending
    theirs = await gql(secured, LIST, {"email": "bob@example.com", "pos": pos}, headers=ADA)
    assert theirs["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    everyone = await gql(secured, LIST, {"pos": pos}, headers=STAFF)
    assert everyone["data"]["orders"]["totalCount"] == 2


async def test_a_customer_is_their_email_whatever_its_case(secured: httpx.AsyncClient) -> None:
    shouting = bearer(token("customer", "Ada@Example.COM"))
    await place(secured, shouting, "ADA@example.com")
    pos = (await place(secured, ADA, "ada@example.com"))["data"]["createOrder"]["position"]
    for headers in (ADA, shouting):
        mine = await gql(secured, LIST, {"pos": pos}, headers=headers)
        assert mine["data"]["orders"]["totalCount"] == 2, mine
        asked = await gql(secured, LIST, {"email": "aDa@example.com", "pos": pos}, headers=headers)
        assert asked["data"]["orders"]["totalCount"] == 2, asked


@pytest.mark.parametrize(
    "query,allowed",
    [
        ("{ orderSummary { totalOrders } }", {"staff", "admin"}),
        ("{ topCustomers { customerEmail } }", {"staff", "admin"}),
        ("{ deadLetters { position } }", {"admin"}),
        ("mutation { retryDeadLetters { applied } }", {"admin"}),
    ],
)
@pytest.mark.parametrize("role", ["customer", "staff", "admin"])
async def test_role_matrix_for_reports_and_operations(
    secured: httpx.AsyncClient, query: str, allowed: set[str], role: str
) -> None:
    body = await gql(secured, query, headers=ROLES[role])
    if role in allowed:
        assert "errors" not in body, body
    else:
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
