"""The completion cache: exact repeats and typing through the suggestion on screen."""

from fireside.completion.cache import CompletionCache
from fireside.completion.types import CompletionRequest


def request(prefix: str, suffix: str = "\n", uri: str = "file:///a.py") -> CompletionRequest:
    return CompletionRequest(uri, "python", prefix + suffix, len(prefix), 1, 64)


def test_exact_repeat_is_a_hit():
    cache = CompletionCache()
    cache.store(request("x = "), "compute()")
    assert cache.lookup(request("x = ")) == ("compute()", "exact")
    assert cache.lookup(request("y = ")) is None


def test_typing_the_suggestion_answers_the_rest():
    cache = CompletionCache()
    cache.store(request("x = "), "compute(a, b)")
    assert cache.lookup(request("x = comp")) == ("ute(a, b)", "typing-through")
    assert cache.lookup(request("x = compute(a, b)")) is None  # nothing left to suggest
    assert cache.lookup(request("x = cons")) is None  # typed something else
    assert cache.lookup(request("x = comp", suffix="\nother\n")) is None  # the text below changed


def test_typing_through_is_per_document():
    cache = CompletionCache()
    cache.store(request("x = "), "compute()")
    assert cache.lookup(request("x = co", uri="file:///b.py")) is None


def test_capacity_bounds_the_exact_cache():
    cache = CompletionCache(capacity=2)
    for index in range(3):
        cache.store(request(f"v{index} = "), str(index))
    assert cache.lookup(request("v0 = ")) is None
    assert cache.lookup(request("v2 = ")) == ("2", "exact")
