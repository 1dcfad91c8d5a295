package shop;

import java.util.List;

public class Cart {
    private List<Integer> items;

    public double total(double rate) {
        String sum = Prices.format(items);
        |
    }
}
