"""Realistic demo orders: varied customers, products, quantities and prices, each
with the commands that take it through the flow. Pure: a seeded random source in,
commands out (cli_demo.py runs them)."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from .domain.commands import CancelOrder, CreateOrder, DeleteOrder, ItemInput, UpdateOrderStatus
from .domain.status import OrderStatus
from .service import new_order_id

FIRST_NAMES = (
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
    "Radia", "Tim", "Hedy", "John", "Katherine", "Donald", "Sophie", "Guido", "Anita", "Niklaus",
    "Zoë", "José", "Ingrid", "Mateo", "Chloé", "Søren", "Aiko", "Kwame", "Priya", "Lars",
)  # fmt: skip
LAST_NAMES = (
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
    "Allen", "Dijkstra", "Perlman", "Berners-Lee", "Lamarr", "Backus", "Johnson", "Knuth",
    "Wilson", "van Rossum", "Borg", "Wirth", "Müller", "García", "Nakamura", "Mensah", "Patel",
)  # fmt: skip
DOMAINS = ("example.com", "example.org", "example.net")

#: (product id, name, unit price)
CATALOGUE = (
    ("COF-001", "Espresso beans, 1 kg", "24.90"),
    ("COF-002", "Decaf filter coffee, 500 g", "11.50"),
    ("COF-010", "Pour-over kettle", "49.00"),
    ("COF-011", "Hand grinder", "79.95"),
    ("TEA-001", "Sencha green tea, 100 g", "8.40"),
    ("TEA-002", "Earl Grey, 250 g", "9.99"),
    ("MUG-001", "Stoneware mug", "14.00"),
    ("MUG-002", "Double-walled glass, set of 2", "22.50"),
    ("KIT-001", "Chef's knife 20 cm", "89.00"),
    ("KIT-002", "Cast-iron skillet", "54.90"),
    ("KIT-003", "Linen tea towels, set of 3", "18.00"),
    ("BAK-001", "Sourdough starter kit", "16.75"),
    ("BAK-002", "Proofing basket", "12.30"),
    ("HOM-001", "Beeswax candle", "7.50"),
    ("HOM-002", "Wool throw blanket", "119.00"),
    ("HOM-003", "Ceramic planter", "27.00"),
    ("STA-001", "Dot-grid notebook A5", "13.90"),
    ("STA-002", "Fountain pen", "34.00"),
    ("STA-003", "Ink bottle, blue-black", "6.95"),
    ("GIF-001", "Gift card", "50.00"),
)

CANCEL_REASONS = (
    "customer changed their mind",
    "payment declined",
    "item out of stock",
    "address could not be verified",
    "ordered twice by mistake",
)
DELETE_REASONS = ("duplicate order", "test order", "customer asked to remove their data")

#: Where demo orders end up, and how often (weights).
FATES: dict[str, int] = {
    "PENDING": 12,
    "CONFIRMED": 12,
    "PROCESSING": 12,
    "SHIPPED": 14,
    "DELIVERED": 30,
    "CANCELLED": 14,
    "DELETED": 6,
}
_FLOW = (OrderStatus.CONFIRMED, OrderStatus.PROCESSING, OrderStatus.SHIPPED, OrderStatus.DELIVERED)

Step = UpdateOrderStatus | CancelOrder | DeleteOrder


@dataclass(frozen=True)
class DemoOrder:
    """A new order and the commands, in order, that take it to its fate."""

    create: CreateOrder
    steps: tuple[Step, ...]
    fate: str


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def customers(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """`count` distinct (name, email) pairs."""
    found: dict[str, str] = {}
    while len(found) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{_ascii(first)}.{_ascii(last)}@{rng.choice(DOMAINS)}"
        if email in found:
            email = email.replace("@", f"{len(found)}@")
        found[email] = f"{first} {last}"
    return [(name, email) for email, name in found.items()]


def _items(rng: random.Random) -> tuple[ItemInput, ...]:
    lines = rng.choices((1, 2, 3, 4, 5), weights=(45, 30, 15, 7, 3))[0]
    chosen = rng.sample(CATALOGUE, lines)
    return tuple(
        ItemInput(
            product_id=sku,
            product_name=name,
            quantity=rng.choices((1, 2, 3, 4, 6, 10), weights=(55, 22, 10, 6, 4, 3))[0],
            price=Decimal(price),
        )
        for sku, name, price in chosen
    )


def _steps(rng: random.Random, order_id: str, fate: str) -> tuple[Step, ...]:
    if fate in ("CANCELLED", "DELETED"):
        # Cancelled from one of the first three statuses; a deleted order was
        # pending, or was cancelled first.
        moves = rng.randint(0, 2) if fate == "CANCELLED" else rng.choice((0, 0, 1))
        steps: list[Step] = [UpdateOrderStatus(order_id, s) for s in _FLOW[:moves]]
        if fate == "CANCELLED" or moves:
            steps.append(CancelOrder(order_id, rng.choice(CANCEL_REASONS)))
        if fate == "DELETED":
            steps.append(DeleteOrder(order_id, rng.choice(DELETE_REASONS)))
        return tuple(steps)
    moves = 0 if fate == "PENDING" else _FLOW.index(OrderStatus(fate.lower())) + 1
    return tuple(UpdateOrderStatus(order_id, s) for s in _FLOW[:moves])


def plan(count: int, rng: random.Random) -> list[DemoOrder]:
    """`count` demo orders from a pool of about a third as many customers."""
    people = customers(rng, max(3, min(count // 3, 500)))
    fates = rng.choices(list(FATES), weights=list(FATES.values()), k=count)
    orders = []
    for fate in fates:
        name, email = rng.choice(people)
        order_id = new_order_id()
        create = CreateOrder(order_id, name, email, _items(rng))
        orders.append(DemoOrder(create, _steps(rng, order_id, fate), fate))
    return orders
