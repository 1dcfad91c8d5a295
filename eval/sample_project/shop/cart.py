"""A shopping cart and its totals."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from shop.catalog import Catalog, Product

VAT_RATE = Decimal("0.20")


class Cart:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.quantities: Counter[str] = Counter()

    def add(self, sku: str, quantity: int = 1) -> None:
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self.catalog.get(sku)  # raises for an unknown SKU
        self.quantities[sku] += quantity

    def remove(self, sku: str, quantity: int = 1) -> None:
        remaining = self.quantities[sku] - quantity
        if remaining > 0:
            self.quantities[sku] = remaining
        else:
            del self.quantities[sku]

    def lines(self) -> list[tuple[Product, int]]:
        return [(self.catalog.get(sku), count) for sku, count in sorted(self.quantities.items())]

    def subtotal(self) -> Decimal:
        total = Decimal("0")
        for product, count in self.lines():
            total += product.price * count
        return total

    def vat(self) -> Decimal:
        return (self.subtotal() * VAT_RATE).quantize(Decimal("0.01"))

    def total(self) -> Decimal:
        return self.subtotal() + self.vat()
