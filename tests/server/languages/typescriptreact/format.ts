/** Formats a price. */
export const formatPrice = (items: number[]): string => {
  return items.join(",");
};
