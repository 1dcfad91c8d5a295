/** Formats a price. */
export function formatPrice(items: Item[], currency: string = "EUR"): string {
  return items.length + currency;
}
