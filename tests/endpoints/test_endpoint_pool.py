"""The endpoint pool's choices, without any server: least outstanding requests, rotation, backoff."""

from __future__ import annotations


from fireside.endpoints.openai_api import base_url
from fireside.endpoints.pool import BACKOFF_START_S, EndpointPool


def never_called(url: str) -> None:
    raise AssertionError("no probe expected")


def test_least_outstanding_requests_wins_and_ties_rotate():
    pool = EndpointPool(("http://a", "http://b", "http://c"), never_called)
    firsts = {pool.candidates()[0] for _ in range(3)}
    assert firsts == {"http://a", "http://b", "http://c"}, "idle endpoints take turns"
    with pool.using("http://a"), pool.using("http://b"):
        assert pool.candidates()[0] == "http://c"
        with pool.using("http://c"), pool.using("http://c"):
            assert pool.candidates()[-1] == "http://c"
    assert pool.candidates(rotate=False) == pool.candidates(rotate=False), "side calls do not move the rotation"


def test_a_failed_endpoint_backs_off_exponentially_and_a_probe_brings_it_back():
    answers = {"http://a": True, "http://b": False}

    def probe(url: str) -> None:
        if not answers[url]:
            raise ConnectionError("refused")

    pool = EndpointPool(("http://a", "http://b"), probe)
    pool.failed("http://a", "timed out")
    assert pool.candidates() == ["http://b"]
    state = {s.url: s for s in pool.snapshot()}["http://a"]
    assert state.backoff_s == 2 * BACKOFF_START_S and state.last_error == "timed out"
    pool.check_all()
    assert pool.candidates(rotate=False) == ["http://a"], "a answers its probe again; b does not"
    answers["http://b"] = True
    pool.check_all()
    assert sorted(pool.candidates()) == ["http://a", "http://b"]


def test_base_url_accepts_the_v1_spelling():
    assert base_url("http://gpu:8000/v1/") == "http://gpu:8000"
    assert base_url("http://gpu:8000") == "http://gpu:8000"


def test_a_hung_endpoint_times_out_and_the_local_engine_answers(stalled_endpoint):
    from fireside.completion.default_model import default_model_path
    from fireside.completion.fake_engine import FAKE_COMPLETION, FakeEngine
    from fireside.endpoints.engine import EndpointEngine, LocalTokenizer

    engine = EndpointEngine(
        [stalled_endpoint], context_size=512, timeout_s=0.5, api_key=None,
        local_tokenizer=lambda: LocalTokenizer(default_model_path()), local_engine=FakeEngine,
    )
    try:
        # The stalled endpoint never answers and never closes: returning at all is the timeout's doing.
        assert engine.generate("def f():\n    return ", max_tokens=64) == FAKE_COMPLETION
        state = engine.pool.snapshot()[0]
        assert state.failures >= 1 and "timed out" in state.last_error
    finally:
        engine.close()
