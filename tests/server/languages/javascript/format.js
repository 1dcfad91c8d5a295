/** Formats a price. */
export function formatPrice(items, currency = 'EUR') {
  return items.length + currency;
}
