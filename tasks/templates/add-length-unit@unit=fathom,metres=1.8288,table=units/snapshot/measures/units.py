"""Length units and their size in metres (exact international definitions)."""

from decimal import Decimal

LENGTHS = {
    "m": Decimal("1"),
    "km": Decimal("1000"),
    "cm": Decimal("0.01"),
    "in": Decimal("0.0254"),
    "ft": Decimal("0.3048"),
    "yd": Decimal("0.9144"),
    "mi": Decimal("1609.344"),
}
