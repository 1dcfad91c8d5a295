import React from "react";
import { formatPrice } from "./format";

export function App(props: { items: number[] }) {
  const label = formatPrice(props.items);
  |
}
