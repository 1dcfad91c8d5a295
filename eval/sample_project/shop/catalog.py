"""Products and the catalog they live in."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: Decimal
    tags: frozenset[str] = field(default_factory=frozenset)

    def with_price(self, price: Decimal) -> Product:
        return Product(self.sku, self.name, price, self.tags)


class Catalog:
    """All products, by SKU."""

    def __init__(self) -> None:
        self._products: dict[str, Product] = {}

    def add(self, product: Product) -> None:
        if product.sku in self._products:
            raise ValueError(f"duplicate SKU {product.sku}")
        self._products[product.sku] = product

    def get(self, sku: str) -> Product:
        try:
            return self._products[sku]
        except KeyError:
            raise LookupError(f"unknown SKU {sku}") from None

    def tagged(self, tag: str) -> list[Product]:
        return [product for product in self._products.values() if tag in product.tags]

    def __len__(self) -> int:
        return len(self._products)
