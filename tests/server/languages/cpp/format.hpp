#pragma once
namespace shop {
/// Formats a price.
std::string format_price(const std::vector<int>& items);
}  // namespace shop
