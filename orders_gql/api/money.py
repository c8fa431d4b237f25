"""The `Decimal` scalar, strict: money is a decimal string ("19.99"), or a
whole number. strawberry's own takes anything `decimal.Decimal` takes: JSON
floats (19.99 arrives as the nearest binary fraction, then printed), "1_000",
" 1.00 ", "1e3", "NaN". The name, the description and the output stay its."""

from __future__ import annotations

import json
import re
from decimal import Decimal

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DecimalDefinition
from strawberry.types.scalar import ScalarDefinition

from .scalars import located_literal

_PLAIN = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def parse_money(value: object) -> Decimal:
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str) and _PLAIN.fullmatch(value) and len(value) <= 64:
        return Decimal(value)
    if isinstance(value, float):  # not quoted: it looked like the string it should be
        shown = f"the number {value!r}, not a string"
    else:
        shown = json.dumps(value)[:40] if isinstance(value, str) else str(value)[:40]
    raise StrawberryInputCoercionError(
        f"Value cannot represent a Decimal: {shown}. Expected a decimal string "
        'such as "19.99" (digits, at most one point; a JSON number is not exact).'
    )


StrictDecimal = ScalarDefinition(
    name=DecimalDefinition.name,
    description=DecimalDefinition.description,
    specified_by_url=None,
    serialize=DecimalDefinition.serialize,
    parse_value=parse_money,
    parse_literal=located_literal(parse_money),
    origin=Decimal,
)
