import { formatPrice } from './format.js';
const path = require('path');

export class Cart {
  constructor() {
    this.items = [];
  }

  total(rate) {
    const sum = formatPrice(this.items);
    |
  }
}
