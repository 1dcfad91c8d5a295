use std::collections::HashMap;
use crate::format::format_price;

pub struct Cart {
    items: Vec<u32>,
}

impl Cart {
    pub fn total(&self, rate: f64) -> f64 {
        let sum = format_price(&self.items);
        |
    }
}
