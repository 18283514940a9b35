"""Plain-text rendering of invoices, as printed on receipts and in e-mails."""

from __future__ import annotations

from .invoice import Invoice

WIDTH = 40


def _row(label: str, value: str) -> str:
    return f"{label:<{WIDTH - len(value) - 1}} {value}"


def render_invoice(invoice: Invoice) -> str:
    lines = [f"Invoice {invoice.number}", "-" * WIDTH]
    for item in invoice.items:
        lines.append(_row(f"{item.quantity} x {item.description}", item.net.format()))
    lines.append("-" * WIDTH)
    lines.append(_row("Subtotal", invoice.subtotal.format()))
    lines.append(_row("Tax", invoice.tax_total.format()))
    lines.append(_row("Total", invoice.total.format()))
    return "\n".join(lines)
