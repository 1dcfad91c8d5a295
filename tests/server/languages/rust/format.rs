/// Formats a price.
#[inline]
pub fn format_price(items: &[u32]) -> String {
    format!("{:?}", items)
}
