package shop

import (
	"fmt"
	"strings"
)

type Cart struct {
	Items []int
}

func (c *Cart) Total(rate float64) float64 {
	sum := FormatPrice(c.Items)
	|
}
