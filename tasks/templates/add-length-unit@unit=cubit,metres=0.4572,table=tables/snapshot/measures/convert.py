"""Converting between length units."""

from decimal import Decimal

from .tables import LENGTHS


def convert(value, source: str, target: str) -> Decimal:
    """`value` in `source` units, expressed in `target` units."""
    return Decimal(str(value)) * LENGTHS[source] / LENGTHS[target]
