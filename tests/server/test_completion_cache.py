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


def test_a_different_prompt_shape_misses_both_ways():
    cache = CompletionCache()
    cache.store(request("x = "), "compute()", shape=("imports", 1024))
    assert cache.lookup(request("x = "), ("imports", 1024)) == ("compute()", "exact")
    assert cache.lookup(request("x = "), ("imports", "definitions", 1024)) is None  # a setting changed
    assert cache.lookup(request("x = co"), ("imports", "definitions", 1024)) is None  # no typing-through either


def test_a_closed_documents_entries_are_forgotten():
    cache = CompletionCache()
    cache.store(request("x = "), "compute()")
    cache.store(request("y = "), "other()")
    cache.store(request("x = ", uri="file:///b.py"), "kept()")
    cache.forget("file:///a.py")
    assert cache.lookup(request("x = ")) is None and cache.lookup(request("x = co")) is None
    assert cache.lookup(request("x = ", uri="file:///b.py")) == ("kept()", "exact")
    assert len(cache) == 1


def test_the_index_generation_counts_only_other_files():
    from fireside.context.index import WorkspaceIndex

    index = WorkspaceIndex()
    before = index.generation_except("/w/a.py")
    index.update_text("/w/a.py", "def typed_here(): pass\n")  # the file being typed in
    assert index.generation_except("/w/a.py") == before
    index.update_text("/w/b.py", "def elsewhere(): pass\n")
    assert index.generation_except("/w/a.py") == before + 1
    index.remove("/w/b.py")
    assert index.generation_except("/w/a.py") == before + 2
    assert index.generation_except("/w/b.py") == before + 1


async def test_the_service_asks_the_model_again_when_settings_or_other_files_change_and_forgets_closed_documents():
    from fireside.completion.fake_engine import FAKE_COMPLETION, FakeEngine
    from fireside.completion.service import CompletionService
    from fireside.config import FiresideConfig
    from fireside.context.index import WorkspaceIndex

    index = WorkspaceIndex()
    service = CompletionService(lambda config: FakeEngine(), index)
    config = FiresideConfig()
    await service.load(config)
    try:
        asked = request("x = ")
        first = await service.complete(asked, config)
        assert first is not None and first.stopped_by == "eos" and first.text == FAKE_COMPLETION
        assert (await service.complete(asked, config)).stopped_by == "exact"
        # Another set of context features builds another prompt: not the cached answer.
        other = config.replace(context_features=[f for f in config.context_features if f != "imports"])
        assert (await service.complete(asked, other)).stopped_by != "exact"
        assert (await service.complete(asked, other)).stopped_by == "exact"
        # Another file changed: its definitions may be in the prompt now.
        index.update_text("/elsewhere/b.py", "def helper(): pass\n")
        assert (await service.complete(asked, other)).stopped_by != "exact"
        # Typing in the document itself keeps its answers (its own definitions are never in its prompt).
        index.update_text("/a.py", "x = \n")
        assert (await service.complete(asked, other)).stopped_by == "exact"
        service.close(asked.uri)
        assert service.peek(asked, other) is None
    finally:
        service.shutdown()
