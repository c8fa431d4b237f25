"""Money to and from MongoDB: decimal128_of gives what bson's Decimal128(value)
gives, bit for bit, and stored_decimal what its to_decimal gives, digits,
exponent and sign included."""

from __future__ import annotations

import random
import struct
from decimal import Decimal

import pytest
from bson import Decimal128

from orders_gql.readside.decimals import decimal128_of, stored_decimal


def same(a: Decimal, b: Decimal) -> bool:
    return a.as_tuple() == b.as_tuple() and str(a) == str(b)


@pytest.mark.parametrize(
    "text",
    ["19.99", "0.01", "0", "0.00", "-0.00", "-12.50", "1E+3", "123456789012345678901234567890.1234",
     "9999999999999999999999999999999999", "1E-6176", "1E+6111", "NaN", "-Infinity", "Infinity",
     "-NaN", "5", "1000000.00"],
)  # fmt: skip
def test_values_as_bson_gives_them(text: str) -> None:
    stored = Decimal128(Decimal(text))
    ours, theirs = stored_decimal(stored), stored.to_decimal()
    if theirs.is_nan():
        assert ours.is_nan() and ours.is_signed() == theirs.is_signed()
    else:
        assert same(ours, theirs), (ours, theirs)


def test_random_bit_patterns_as_bson_reads_them() -> None:
    """Every 128-bit pattern is some Decimal128 (non-canonical coefficients and
    the large-coefficient form included)."""
    rng = random.Random(6)
    for _ in range(20_000):
        low, high = rng.getrandbits(64), rng.getrandbits(64)
        if rng.random() < 0.5:  # mostly the usual form, with small coefficients
            high &= ~0x6000000000000000 & ((1 << 64) - 1)
            if rng.random() < 0.5:
                high &= 0xFFFE000000000000
                low &= (1 << rng.randrange(1, 64)) - 1
        stored = Decimal128.from_bid(struct.pack("<QQ", low, high))
        theirs = stored.to_decimal()
        ours = stored_decimal(stored)
        if theirs.is_nan():
            assert ours.is_nan() and ours.is_signed() == theirs.is_signed()
        else:
            assert same(ours, theirs), (hex(high), hex(low), ours, theirs)


def test_plain_values_pass_through() -> None:
    assert same(stored_decimal("19.99"), Decimal("19.99"))
    assert same(stored_decimal(Decimal("2.50")), Decimal("2.50"))


def _as_bson_stores(value: Decimal) -> tuple[str, bytes | str]:
    """What bson makes of `value`: its bits, or the error it raises."""
    try:
        return "bits", Decimal128(value).bid
    except Exception as exc:
        return "error", type(exc).__name__


def _as_we_store(value: Decimal) -> tuple[str, bytes | str]:
    try:
        return "bits", decimal128_of(value).bid
    except Exception as exc:
        return "error", type(exc).__name__


@pytest.mark.parametrize(
    "text",
    ["19.99", "0.01", "0", "0.00", "-0", "-0.00", "-12.50", "1E+3", "5", "1000000.00",
     "123456789012345678901234567890.1234", "9999999999999999999999999999999999",
     "99999999999999999999999999999999999", "1E-6176", "1E-6177", "1E+6111", "1E+6112",
     "12E+6110", "NaN", "-NaN", "sNaN", "NaN5", "Infinity", "-Infinity"],
)  # fmt: skip
def test_values_are_stored_as_bson_stores_them(text: str) -> None:
    value = Decimal(text)
    assert _as_we_store(value) == _as_bson_stores(value)


def test_random_values_are_stored_as_bson_stores_them() -> None:
    """Any digits (up to 40), any exponent around Decimal128's range, either sign."""
    rng = random.Random(7)
    for _ in range(20_000):
        digits = tuple(rng.randrange(10) for _ in range(rng.randrange(1, 41)))
        exponent = rng.choice([rng.randrange(-8, 3), rng.randrange(-6200, 6200)])
        value = Decimal((rng.randrange(2), digits, exponent))
        assert _as_we_store(value) == _as_bson_stores(value), value
