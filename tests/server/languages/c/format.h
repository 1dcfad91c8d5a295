#ifndef FORMAT_H
#define FORMAT_H
/* Formats a price. */
int format_price(const int *items);
#endif
