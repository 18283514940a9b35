from decimal import Decimal

import pytest

from ledgerlite import Invoice, Money
from ledgerlite.render import render_invoice


def invoice():
    inv = Invoice("2024-042")
    inv.add("Consulting hour", 3, "120.00", "0.20")
    inv.add("Travel", 1, "45.50")
    return inv


def test_no_discount_by_default():
    inv = invoice()
    assert inv.discount_percent == Decimal("0")
    assert inv.discount == Money(Decimal("0"))
    assert inv.total == Money(Decimal("477.50"))
    assert "Discount" not in render_invoice(inv)


def test_discount_before_tax():
    inv = invoice()
    inv.apply_discount("10")
    assert inv.subtotal == Money(Decimal("405.50"))
    assert inv.discount == Money(Decimal("40.55"))
    assert inv.tax_total == Money(Decimal("64.80"))
    assert inv.total == Money(Decimal("429.75"))


@pytest.mark.parametrize("bad", ["-1", "100.01", "ten"])
def test_rejects_bad_percentages(bad):
    with pytest.raises(ValueError):
        invoice().apply_discount(bad)


def test_render_shows_discount_row():
    inv = invoice()
    inv.apply_discount(Decimal("12.50"))
    lines = render_invoice(inv).splitlines()
    labels = [line.split("  ")[0].strip() for line in lines]
    assert labels.index("Discount (12.5%)") == labels.index("Subtotal") + 1
    assert labels.index("Tax") == labels.index("Discount (12.5%)") + 1
    discount_row = lines[labels.index("Discount (12.5%)")]
    assert discount_row.endswith("-50.69 USD")
    assert lines[-1].endswith(inv.total.format())
