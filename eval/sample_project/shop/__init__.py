"""A tiny shop: products, carts and invoices."""
