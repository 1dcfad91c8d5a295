#include <vector>
#include "format.hpp"

namespace shop {
class Cart {
 public:
  double total(double rate) {
    double sum = format_price(items_);
    |
  }

 private:
  std::vector<int> items_;
};
}  // namespace shop
