"""Invoices printed from a cart."""

from __future__ import annotations

from shop.cart import Cart


def format_invoice(cart: Cart, customer: str) -> str:
    rows = [f"Invoice for {customer}", "-" * 40]
    for product, count in cart.lines():
        rows.append(f"{product.name:<24}{count:>4} x {product.price:>8}")
    rows.append("-" * 40)
    rows.append(f"{'Subtotal':<30}{cart.subtotal():>10}")
    rows.append(f"{'VAT':<30}{cart.vat():>10}")
    rows.append(f"{'Total':<30}{cart.total():>10}")
    return "\n".join(rows)


def cheapest_line(cart: Cart):
    
