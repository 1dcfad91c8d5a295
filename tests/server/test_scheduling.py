"""Adaptive debounce: the base value while the model keeps up, longer while it cannot."""

from fireside.completion.scheduling import MAX_DEBOUNCE_MS, TypingTracker


def test_base_debounce_until_there_is_something_to_adapt_to():
    tracker = TypingTracker()
    assert tracker.debounce_ms(50) == 50
    tracker.keystroke("a", 0)
    tracker.keystroke("a", 120)
    assert tracker.debounce_ms(50) == 50  # no model latency measured yet


def test_slow_model_and_fast_typing_wait_for_a_pause():
    tracker = TypingTracker()
    for t in range(0, 1500, 150):
        tracker.keystroke("a", t)
    tracker.completed(600)
    assert 150 <= tracker.debounce_ms(50) <= MAX_DEBOUNCE_MS
    assert tracker.debounce_ms(50) == 1.5 * tracker.typing_interval_ms


def test_fast_model_keeps_the_base_debounce():
    tracker = TypingTracker()
    for t in range(0, 1500, 300):
        tracker.keystroke("a", t)
    tracker.completed(80)
    assert tracker.debounce_ms(50) == 50


def test_pauses_do_not_count_as_typing_speed():
    tracker = TypingTracker()
    tracker.keystroke("a", 0)
    tracker.keystroke("a", 10_000)
    assert tracker.typing_interval_ms is None
    assert tracker.debounce_ms(0) == 0  # a debounce of 0 stays 0
