"""A keystroke waits for nothing: prefetches and older requests give way on the model thread, and each
request's queue time, model time and round trip are logged. "Still generating" is made by an engine
that blocks until it is cancelled, never by timing."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Sequence

from fireside.completion.engine import Generation, ModelInfo
from fireside.completion.scheduling import RequestClock
from fireside.completion.service import CompletionService
from fireside.completion.types import CompletionRequest
from fireside.config import FiresideConfig
from tests.support.lsp_wire import RawServer

WAIT = 30.0  # only a broken implementation ever waits this long


class BlockingEngine:
    """Prompts containing ``BLOCK`` generate until cancelled; the others answer at once. Records the
    order in which runs start and end."""

    def __init__(self) -> None:
        self.info = ModelInfo(path="<blocking>", name="blocking", architecture="test", context_length=4096, fim=None)
        self.context_size = 4096
        self.events: list[str] = []
        self.blocked = threading.Event()

    @property
    def start_tokens(self) -> list[int]:
        return []

    def tokenize(self, text: str) -> list[int]:
        return [ord(char) for char in text]

    def run(self, prompt_tokens: Sequence[int], *, max_tokens: int, stop_at: Callable[[str], int | None],
            cancelled: Callable[[], bool]) -> Generation:
        text = "".join(chr(token) for token in prompt_tokens)
        name = "blocking" if "BLOCK" in text else "quick"
        self.events.append(f"start {name}")
        if name == "blocking":
            self.blocked.set()
            while not cancelled():
                threading.Event().wait(0.001)
            self.events.append("end blocking: cancelled")
            return Generation("", len(prompt_tokens), 0, 0, "cancelled", 0.0)
        self.events.append("end quick")
        return Generation("answer()", len(prompt_tokens), 0, 1, "eos", 0.0)

    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str:
        return ""


def request(uri: str, text: str) -> CompletionRequest:
    return CompletionRequest(uri, "python", text, len(text), 1, 16)


async def started_service() -> tuple[CompletionService, BlockingEngine, FiresideConfig]:
    engine = BlockingEngine()
    service = CompletionService(lambda config: engine)
    config = FiresideConfig(context_features=())
    await service.load(config)
    return service, engine, config


async def wait_until(event: threading.Event) -> None:
    assert await asyncio.get_running_loop().run_in_executor(None, event.wait, WAIT)


async def test_a_request_does_not_wait_behind_a_prefetch():
    service, engine, config = await started_service()
    service.prefetch(request("file:///a.py", "BLOCK = "), config)
    await wait_until(engine.blocked)
    clock = RequestClock()
    completion = await asyncio.wait_for(service.complete(request("file:///a.py", "x = "), config, clock), WAIT)
    assert completion is not None and completion.text == "answer()"
    assert engine.events == ["start blocking", "end blocking: cancelled", "start quick", "end quick"]
    assert clock.started is not None and clock.finished is not None and clock.started <= clock.finished
    assert completion.queue_ms == clock.queue_ms and completion.worker_ms == clock.worker_ms
    service.shutdown()


async def test_a_request_supersedes_an_older_one_in_any_document():
    service, engine, config = await started_service()
    older = asyncio.ensure_future(service.complete(request("file:///a.py", "BLOCK = "), config))
    await wait_until(engine.blocked)
    newer = await asyncio.wait_for(service.complete(request("file:///b.py", "y = "), config), WAIT)
    assert newer is not None and newer.text == "answer()"
    assert (await older).stopped_by == "cancelled"
    assert engine.events == ["start blocking", "end blocking: cancelled", "start quick", "end quick"]
    service.shutdown()


async def test_cancelling_the_awaiting_task_stops_the_model_work():
    service, engine, config = await started_service()
    task = asyncio.ensure_future(service.complete(request("file:///a.py", "BLOCK = "), config))
    await wait_until(engine.blocked)
    task.cancel()  # what pygls does on $/cancelRequest
    follow_up = await asyncio.wait_for(service.complete(request("file:///a.py", "z = "), config), WAIT)
    assert follow_up is not None and follow_up.text == "answer()"
    assert engine.events[:2] == ["start blocking", "end blocking: cancelled"]
    service.shutdown()


def test_request_clock_splits_a_round_trip():
    clock = RequestClock(arrived=10.0)
    assert clock.queue_ms == 0.0 and clock.worker_ms == 0.0  # not started: nothing to report yet
    clock.debounced, clock.started, clock.finished = 10.05, 10.07, 10.5
    assert round(clock.debounce_ms) == 50 and round(clock.queue_ms) == 70 and round(clock.worker_ms) == 430


LOG_LINE = re.compile(
    r"completion .* queue (?P<queue>\d+) ms \(debounce (?P<debounce>\d+)\), model (?P<model>\d+) ms \((?P<threads>\d+) threads\), "
    r"worker (?P<worker>\d+) ms, round trip (?P<round_trip>\d+) ms, stop: (?P<stop>\S+)"
)


def test_each_request_logs_its_queue_time_model_time_and_round_trip():
    server = RawServer("--engine", "fake", "--debounce-ms", "0")
    uri = "file:///tmp/fireside_scheduling/a.py"
    try:
        server.initialize()
        server.open(uri, "x = \n")
        response = server.call(
            "textDocument/inlineCompletion",
            {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 4}, "context": {"triggerKind": 1}},
        )
        assert response["result"]["items"]
        server.close()
        lines = [match for line in server.stderr_lines if (match := LOG_LINE.search(line))]
        assert lines, "".join(server.stderr_lines[-20:])
        figures = {key: int(value) for key, value in lines[-1].groupdict().items() if key != "stop"}
        assert figures["debounce"] <= figures["queue"] <= figures["round_trip"]
        assert figures["model"] <= figures["worker"] <= figures["round_trip"]
    finally:
        server.close()
