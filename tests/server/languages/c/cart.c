#include <stdio.h>
#include "format.h"

static double total(const int *items, double rate) {
    double sum = format_price(items);
    |
}
