import type { Item } from "./item";
import { formatPrice } from "./format";

export class Cart {
  private items: Item[] = [];

  total(rate: number): number {
    const sum = formatPrice(this.items);
    |
  }
}
