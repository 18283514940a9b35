"""Parsing amounts typed by people: "12.50", "-3", " 7.1 "."""

from __future__ import annotations

import re
from decimal import Decimal

_PLAIN = re.compile(r"^-?\d+(\.\d+)?$")


def parse_amount(text: str) -> Decimal:
    """Parse a decimal amount. Raises ValueError for anything that is not a plain number."""
    cleaned = text.strip()
    if not _PLAIN.match(cleaned):
        raise ValueError(f"not an amount: {text!r}")
    return Decimal(cleaned)
