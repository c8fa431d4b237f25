"""Money between Python's Decimal and BSON's Decimal128, both ways, giving
what bson's own conversions give at a fraction of their time: bson builds a
Decimal128's 128 bits one bit at a time and reads them back one byte at a
time. Measured on 19.99 here: Decimal -> Decimal128 3.4 -> 1.2 us (a sixth of
the projector's CPU for new orders was bson's), Decimal128 -> Decimal 4.3 ->
1.0 us. Values outside the plain form (NaN, infinities, more than 34 digits,
exponents beyond Decimal128's range) take bson's own path."""

from __future__ import annotations

import struct
from decimal import Decimal
from typing import Any

from bson import Decimal128

_HALVES = struct.Struct("<QQ")
_SPECIAL = 0x6000000000000000  # NaN, infinity and the large-coefficient form
_MAX_COEFFICIENT = 10**34 - 1
_EXPONENT_BIAS = 6176
_MAX_EXPONENT = 6111  # with 34 digits' precision and clamping, as bson's context
_LOW = (1 << 64) - 1


def stored_decimal(value: Any) -> Decimal:
    """A stored money value as a Decimal: what `Decimal128.to_decimal` gives."""
    if not isinstance(value, Decimal128):
        return Decimal(value)
    low, high = _HALVES.unpack(value.bid)
    coefficient = ((high & 0x1FFFFFFFFFFFF) << 64) | low
    if high & _SPECIAL == _SPECIAL or coefficient > _MAX_COEFFICIENT:
        return value.to_decimal()
    sign = "-" if high >> 63 else ""
    return Decimal(f"{sign}{coefficient}E{((high >> 49) & 0x3FFF) - _EXPONENT_BIAS}")


def decimal128_of(value: Decimal) -> Decimal128:
    """A Decimal as stored: what `Decimal128(value)` gives."""
    sign, digits, exponent = value.as_tuple()
    if (
        not isinstance(exponent, int)  # NaN, infinity
        or len(digits) > 34
        or not -_EXPONENT_BIAS <= exponent <= _MAX_EXPONENT
    ):
        return Decimal128(value)
    coefficient = 0
    for digit in digits:  # faster than int() of the joined digits for money's few
        coefficient = coefficient * 10 + digit
    high = (sign << 63) | ((exponent + _EXPONENT_BIAS) << 49) | (coefficient >> 64)
    return Decimal128((high, coefficient & _LOW))  # type: ignore[arg-type]  # (high, low) at run time
