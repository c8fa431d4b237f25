"""Who is asking, and what they may do.

Callers prove who they are with a bearer JWT (HS256 with a shared secret, or
RS256/ES256 keys from a JWKS file) or, for services, an API key. Roles:

- customer: creates orders for their own email, reads and subscribes to only
  their own orders (the token must carry an `email` claim);
- staff: reads everything, moves statuses, cancels;
- admin: everything staff may, and deletes, replays, manages dead letters.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import jwt
from graphql import GraphQLError

from ..settings import SettingsError


class Role(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    email: str | None = None
    #: When its token expires (seconds since the epoch); None: it does not.
    expires_at: float | None = None

    def __post_init__(self) -> None:
        # emails are kept in lower case (one customer, whatever the case)
        if self.email is not None:
            object.__setattr__(self, "email", self.email.lower())

    def may_see(self, customer_email: str) -> bool:
        """Whether this caller may read an order of that customer."""
        if self.role is not Role.CUSTOMER:
            return True
        return self.email is not None and self.email.lower() == customer_email.lower()


#: The caller when authentication is switched off (the local playground).
PLAYGROUND = Principal(subject="playground", role=Role.ADMIN)


class AuthenticationFailed(Exception):
    """The credentials were presented but are not valid (forged, expired, unknown)."""


class Unauthenticated(GraphQLError):
    def __init__(
        self,
        message: str = "authentication required: send 'Authorization: Bearer <token>' "
        "or 'X-API-Key'",
    ) -> None:
        super().__init__(message, extensions={"code": "UNAUTHENTICATED"})


class Forbidden(GraphQLError):
    def __init__(self, what: str) -> None:
        super().__init__(f"not allowed: {what}", extensions={"code": "FORBIDDEN"})


def require(principal: Principal | None, *roles: Role, what: str) -> Principal:
    """The principal if it has one of `roles`; else a typed top-level error."""
    if principal is None:
        raise Unauthenticated()
    # A websocket keeps the principal of its connection_init: each operation
    # started after the token expired is refused, as an HTTP request would be.
    if principal.expires_at is not None and time.time() >= principal.expires_at:
        raise Unauthenticated("the token has expired: connect again with a new one")
    if principal.role not in roles:
        raise Forbidden(f"{what} needs the role {' or '.join(r.value for r in roles)}")
    return principal


def _role(value: Any) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        raise AuthenticationFailed(f"unknown role {value!r}") from None


def _json_file(name: str, path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise SettingsError(f"{name}: {path}: {exc.strerror or exc}") from None
    except ValueError as exc:  # JSONDecodeError, or not UTF-8
        raise SettingsError(f"{name}: {path}: is not JSON ({exc})") from None


def read_api_keys(path: Path) -> dict[str, dict[str, str]]:
    """ORDERS_API_KEYS_FILE: {"<key or sha256:hex>": {"name", "role", "email"}},
    each optional; refused at start-up (SettingsError) when it is not that."""
    keys = _json_file("ORDERS_API_KEYS_FILE", path)
    shape = "must be a JSON object of key -> {name, role, email}"
    if not isinstance(keys, dict) or not all(
        isinstance(entry, dict) and all(isinstance(v, str) for v in entry.values())
        for entry in keys.values()
    ):
        raise SettingsError(f"ORDERS_API_KEYS_FILE: {path}: {shape}")
    for entry in keys.values():
        role = entry.get("role", Role.STAFF.value)
        if role not in set(Role):
            known = ", ".join(r.value for r in Role)
            raise SettingsError(
                f"ORDERS_API_KEYS_FILE: {path}: unknown role {role!r} (one of {known})"
            )
    return keys


def read_jwks(path: Path) -> dict[str, Any]:
    """ORDERS_JWKS_FILE: a JWK set ({"keys": [...]}, public keys with a `kid`);
    refused at start-up (SettingsError) when it is not one."""
    jwks = _json_file("ORDERS_JWKS_FILE", path)
    try:
        jwt.PyJWKSet.from_dict(jwks)
    except (
        jwt.exceptions.PyJWKSetError,
        jwt.exceptions.PyJWKError,
        TypeError,
        AttributeError,
    ) as exc:
        raise SettingsError(f"ORDERS_JWKS_FILE: {path}: is not a JWK set ({exc})") from None
    return dict(jwks)


def check_credential_files(api_keys_file: Path | None, jwks_file: Path | None) -> None:
    """Read the credential files as the API will, so that a bad one stops
    start-up (Settings.check) instead of the first request."""
    if api_keys_file is not None:
        read_api_keys(api_keys_file)
    if jwks_file is not None:
        read_jwks(jwks_file)


class Authenticator:
    """Verifies bearer tokens and API keys; `enabled=False` lets everyone in."""

    def __init__(
        self,
        *,
        enabled: bool,
        jwt_secret: str | None = None,
        jwks: Mapping[str, Any] | None = None,
        api_keys: Mapping[str, Mapping[str, str]] | None = None,
        issuer: str | None = None,
        audience: str | None = None,
    ) -> None:
        self.enabled = enabled
        self._secret = jwt_secret
        self._jwks = jwt.PyJWKSet.from_dict(dict(jwks)) if jwks else None
        # Keys are kept as SHA-256 digests, so the file may hold either.
        self._api_keys = {
            (k if k.startswith("sha256:") else "sha256:" + _digest(k)): v
            for k, v in (api_keys or {}).items()
        }
        self._issuer = issuer
        self._audience = audience

    @classmethod
    def from_files(
        cls,
        *,
        enabled: bool,
        jwt_secret: str | None,
        jwks_file: Path | None,
        api_keys_file: Path | None,
        issuer: str | None = None,
        audience: str | None = None,
    ) -> Authenticator:
        jwks = read_jwks(jwks_file) if jwks_file else None
        keys = read_api_keys(api_keys_file) if api_keys_file else None
        return cls(
            enabled=enabled,
            jwt_secret=jwt_secret,
            jwks=jwks,
            api_keys=keys,
            issuer=issuer,
            audience=audience,
        )

    def authenticate(self, headers: Mapping[str, str]) -> Principal | None:
        """The caller named by the headers; None when no credentials were sent.

        Raises AuthenticationFailed when credentials were sent but are not valid."""
        if not self.enabled:
            return PLAYGROUND
        authorization = headers.get("authorization", "")
        api_key = headers.get("x-api-key")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationFailed("the Authorization header must be 'Bearer <token>'")
            return self.verify_token(token.strip())
        if api_key:
            return self.verify_api_key(api_key)
        return None

    def verify_token(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            options: Any = {"require": ["exp", "sub"]}
            if header.get("alg") == "HS256" and self._secret:
                key: Any = self._secret
                algorithms = ["HS256"]
            elif self._jwks is not None and header.get("kid"):
                key = self._jwks[header["kid"]].key
                algorithms = ["RS256", "ES256"]
            else:
                raise AuthenticationFailed("the token's algorithm or key is not accepted")
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                options=options,
                issuer=self._issuer,
                audience=self._audience,
            )
        except KeyError:
            raise AuthenticationFailed("the token's key id is unknown") from None
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("the token has expired") from None
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(f"the token is not valid: {exc}") from None
        role = _role(claims.get("role", Role.CUSTOMER.value))
        email = claims.get("email")
        if role is Role.CUSTOMER and not isinstance(email, str):
            raise AuthenticationFailed("a customer token must carry an 'email' claim")
        return Principal(
            subject=str(claims["sub"]), role=role, email=email, expires_at=float(claims["exp"])
        )

    def verify_api_key(self, key: str) -> Principal:
        digest = "sha256:" + _digest(key)
        for known, entry in self._api_keys.items():
            if hmac.compare_digest(known, digest):
                return Principal(
                    subject=entry.get("name", "service"),
                    role=_role(entry.get("role", Role.STAFF.value)),
                    email=entry.get("email"),
                )
        raise AuthenticationFailed("unknown API key")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
