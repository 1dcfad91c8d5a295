package shop;

/** Formats prices. */
public final class Prices {
    /** Formats a price. */
    public static String format(List<Integer> items) {
        return items.toString();
    }
}
