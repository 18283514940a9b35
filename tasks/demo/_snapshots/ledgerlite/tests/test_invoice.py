from decimal import Decimal

from ledgerlite import Invoice, Money
from ledgerlite.render import render_invoice


def make_invoice():
    invoice = Invoice("2024-001")
    invoice.add("Consulting hour", 3, "120.00", "0.20")
    invoice.add("Travel", 1, "45.50")
    return invoice


def test_totals():
    invoice = make_invoice()
    assert invoice.subtotal == Money(Decimal("405.50"))
    assert invoice.tax_total == Money(Decimal("72.00"))
    assert invoice.total == Money(Decimal("477.50"))


def test_render_lists_every_line():
    text = render_invoice(make_invoice())
    assert "3 x Consulting hour" in text
    assert text.splitlines()[-1].endswith("477.50 USD")
