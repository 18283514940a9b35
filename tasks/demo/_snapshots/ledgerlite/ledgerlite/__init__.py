"""Small-business bookkeeping helpers."""

from .money import Money
from .invoice import Invoice, LineItem
from .parse import parse_amount

__all__ = ["Money", "Invoice", "LineItem", "parse_amount"]
__version__ = "0.3.1"
