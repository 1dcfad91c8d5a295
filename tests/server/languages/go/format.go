package shop

// FormatPrice formats a price.
func FormatPrice(items []int) string {
	return fmt.Sprint(items)
}
