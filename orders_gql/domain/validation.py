"""Input rules for commands. Each refusal names the field a client must fix."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from .commands import CancelOrder, CreateOrder, DeleteOrder, ItemInput
from .errors import ValidationError

NAME_MIN, NAME_MAX = 2, 100
EMAIL_MAX = 254
ITEMS_MIN, ITEMS_MAX = 1, 100
PRODUCT_ID_MAX = 64
PRODUCT_NAME_MAX = 200
QUANTITY_MIN, QUANTITY_MAX = 1, 10_000
PRICE_MAX = Decimal("1000000")
REASON_MAX = 500

# Pragmatic address check: one @, a dotted domain, no spaces or control characters.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


#: Unicode's control characters (category Cc, fixed by its stability policy):
#: U+0000-U+001F and U+007F-U+009F; the second keeps newlines and tabs.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _text(field: str, value: str, low: int, high: int, *, lines: bool = False) -> str:
    """`value` without surrounding spaces; control characters refused (but
    newlines and tabs where `lines`), and invisible ones (zero-width spaces,
    marks) not counted towards `low`."""
    text = value.strip()
    if (_CONTROL_BUT_LINES if lines else _CONTROL).search(text):
        raise ValidationError(field, "must not contain control characters")
    shown = "".join(text.split())  # without what str.isspace() calls space
    # Format characters (Cf: zero-width spaces, marks) are none of them ASCII.
    visible = len(shown) if shown.isascii() else sum(unicodedata.category(c) != "Cf" for c in shown)
    if visible < low:
        raise ValidationError(
            field, "must not be empty" if low <= 1 else f"must be at least {low} characters"
        )
    if len(text) > high:
        raise ValidationError(field, f"must be at most {high} characters")
    return text


def normalise_email(field: str, value: str) -> str:
    email = value.strip()
    if len(email) > EMAIL_MAX or not _EMAIL.match(email) or ".." in email:
        raise ValidationError(field, f"{value!r} is not a valid email address")
    # One customer, one email, whatever its case (as mail providers treat the
    # local part, and customers type it): lists, statistics and access agree.
    return email.lower()


def _price(field: str, value: Decimal) -> Decimal:
    try:
        if not value.is_finite():
            raise ValidationError(field, "must be a finite amount")
    except (InvalidOperation, AttributeError) as exc:
        raise ValidationError(field, "must be a decimal amount") from exc
    if value < 0:
        raise ValidationError(field, "must not be negative")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and value != value.quantize(Decimal("0.01")):
        raise ValidationError(field, "must have at most 2 decimal places")
    if value > PRICE_MAX:
        raise ValidationError(field, f"must be at most {PRICE_MAX}")
    return value.quantize(Decimal("0.01")) + 0  # + 0: "-0" is 0.00, not -0.00


def _item(index: int, item: ItemInput) -> ItemInput:
    try:  # fields named within the item, their path made only for a refusal
        if isinstance(item.quantity, bool) or not isinstance(item.quantity, int):
            raise ValidationError("quantity", "must be a whole number")
        if not QUANTITY_MIN <= item.quantity <= QUANTITY_MAX:
            raise ValidationError("quantity", f"must be between {QUANTITY_MIN} and {QUANTITY_MAX}")
        return ItemInput(
            product_id=_text("productId", item.product_id, 1, PRODUCT_ID_MAX),
            product_name=_text("productName", item.product_name, 1, PRODUCT_NAME_MAX),
            quantity=item.quantity,
            price=_price("price", item.price),
        )
    except ValidationError as refused:
        raise ValidationError(f"items.{index}.{refused.field}", refused.reason) from None


def validate_create(cmd: CreateOrder) -> CreateOrder:
    """Return the command with normalised values, or raise ValidationError."""
    name = _text("customerName", cmd.customer_name, NAME_MIN, NAME_MAX)
    email = normalise_email("customerEmail", cmd.customer_email)
    if len(cmd.items) < ITEMS_MIN:
        raise ValidationError("items", "an order needs at least one item")
    if len(cmd.items) > ITEMS_MAX:
        raise ValidationError("items", f"an order has at most {ITEMS_MAX} items")
    items = tuple(_item(i, item) for i, item in enumerate(cmd.items))
    return CreateOrder(order_id=cmd.order_id, customer_name=name, customer_email=email, items=items)


def validate_cancel(cmd: CancelOrder) -> CancelOrder:
    reason = _text("reason", cmd.reason, 1, REASON_MAX, lines=True)
    return CancelOrder(order_id=cmd.order_id, reason=reason)


def validate_delete(cmd: DeleteOrder) -> DeleteOrder:
    if cmd.reason is None:
        return cmd
    reason = _text("reason", cmd.reason, 1, REASON_MAX, lines=True)
    return DeleteOrder(order_id=cmd.order_id, reason=reason)
