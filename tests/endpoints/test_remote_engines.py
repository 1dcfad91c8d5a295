"""Remote engines: real llama_cpp.server processes on loopback, one of them busy or killed mid-run.

The editor must never see an error: a slow or dead endpoint's request moves to the next one, and with
every endpoint down the local model answers (or nobody, when that fall-back is switched off)."""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from fireside.completion.default_model import default_model_path
from fireside.completion.fake_engine import FAKE_COMPLETION
from fireside.endpoints.engine import EndpointEngine, LocalTokenizer

from tests.support.engine_servers import API_KEY, EngineServer, environ_with, free_port

PROJECT = Path(__file__).resolve().parents[2] / "eval" / "sample_project"
URI = "file:///tmp/fireside_endpoints/editor.py"


def engine_for(urls: list[str], *, timeout_s: float, api_key: str | None = API_KEY) -> EndpointEngine:
    return EndpointEngine(
        urls, context_size=2048, timeout_s=timeout_s, api_key=api_key,
        local_tokenizer=lambda: LocalTokenizer(default_model_path()), local_engine=None,
    )


class Occupation:
    """One long streamed generation that keeps ``server`` busy (llama_cpp.server runs one request at a time)
    until ``release``: the first streamed token says it is running, and closing the stream ends it."""

    def __init__(self, server: EngineServer, tokens: int = 1500) -> None:
        self.generating = threading.Event()
        self._released = threading.Event()
        self._thread = threading.Thread(target=self._work, args=(server, tokens), daemon=True)
        self._thread.start()
        assert self.generating.wait(120), "the long generation never started"

    def _work(self, server: EngineServer, tokens: int) -> None:
        try:
            with requests.post(
                f"{server.url}/v1/completions",
                json={"prompt": "1, 2, 3, 4, 5, 6, 7, 8,", "max_tokens": tokens, "temperature": 0, "stream": True},
                headers={"Authorization": f"Bearer {API_KEY}"},
                timeout=300,
                stream=True,
            ) as response:
                for _chunk in response.iter_lines():
                    self.generating.set()
                    if self._released.is_set():
                        break  # the server stops generating when the client goes
        except requests.RequestException:
            pass  # killed later in the module: fine

    def release(self) -> None:
        self._released.set()
        self._thread.join(timeout=120)


@pytest.mark.model
def test_a_busy_endpoint_is_skipped_after_the_timeout_and_the_request_still_answered(engine_servers):
    busy, free = engine_servers
    engine = engine_for([busy.url, free.url], timeout_s=3.0)
    try:
        served_before = free.completions_served()
        occupation = Occupation(busy)  # returns once the busy server is streaming its long generation
        answers = [
            engine.generate(f"def add_{index}(first, second):\n    return ", max_tokens=8, stop=["\n"])
            for index in range(2)
        ]
        assert all(answer.strip() for answer in answers), answers
        states = {state.url: state for state in engine.pool.snapshot()}
        # Ties rotate, so one of the two requests went to the busy endpoint first and moved on.
        assert states[busy.url].failures >= 1 and "timed out" in states[busy.url].last_error
        assert states[free.url].served == 2
        assert free.completions_served() >= served_before + 2
        occupation.release()  # the next test starts with both servers idle
    finally:
        engine.close()


@pytest.mark.model
def test_a_wrong_api_key_is_refused_and_the_key_never_appears_in_errors(engine_servers):
    engine = engine_for([engine_servers[1].url], timeout_s=30.0, api_key="not-the-key")
    try:
        assert engine.generate("def f():\n    return ", max_tokens=4) == "", "401 everywhere and no fall-back: empty"
        state = engine.pool.snapshot()[0]
        assert state.last_error.endswith("HTTP 401")
        assert "not-the-key" not in repr(engine._client) and "not-the-key" not in state.last_error
    finally:
        engine.close()


LONG = "# the numbers from one to a hundred, one per line\nNUMBERS = [\n"  # a long multi-line completion


async def _complete(
    client: LanguageClient, version: int, name: str, text: str | None = None
) -> list[types.InlineCompletionItem]:
    # The same function each time (the model reliably completes it), under a different comment, so
    # that no answer comes from the cache.
    text = text or f"# {name}\ndef add(first, second):\n    \"\"\"Return the sum of two numbers.\"\"\"\n    return "
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            position=types.Position(line=text.count("\n"), character=len(text.split("\n")[-1])),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
        )
    )
    return result.items


async def _close(client: LanguageClient) -> None:
    """Shut the server down politely, and for sure: a failed assertion must not leave it hanging."""
    try:
        await asyncio.wait_for(client.shutdown_session(), 20)
    except Exception:
        if client._server is not None and client._server.returncode is None:
            client._server.kill()
    await client.stop()


async def _editor(args: list[str], options: dict, env: dict[str, str]) -> LanguageClient:
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "fireside", "serve", "--debounce-ms", "0", *args], server_env=env
    )
    client = await config.start()
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"), root_uri=PROJECT.as_uri(),
            initialization_options=options,
        )
    )
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(URI, "python", 1, "\n"))
    )
    return client


@pytest.mark.model
async def test_editor_keeps_completing_when_an_endpoint_is_killed_mid_run_then_falls_back_to_local(
    engine_servers, api_key_env, tmp_path
):
    first, second = engine_servers
    log = tmp_path / "server.log"
    client = await _editor(
        # The local fall-back is the model the endpoints serve (Gemma): failover is what is tested here.
        ["--endpoint", first.url, "--endpoint", second.url, "--endpoint-api-key-env", api_key_env, "--max-tokens", "48",
         "--log-level", "debug", "--log-file", str(log), "--model", str(default_model_path())],
        {"endpointTimeoutMs": 20000},
        environ_with(**{api_key_env: API_KEY}),
    )
    try:
        version = 1
        for index in range(2):  # both endpoints in use (ties rotate)
            version += 1
            await _complete(client, version, f"warm_{index}")
        assert first.completions_served() + second.completions_served() >= 2

        # Kill whichever endpoint is generating for the editor right now.
        version += 1
        served = (first.completions_served(), second.completions_served())
        pending = asyncio.ensure_future(_complete(client, version, "during_the_kill", LONG))
        deadline = time.monotonic() + 30
        victim = survivor = None
        while victim is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            if first.completions_served() > served[0]:
                victim, survivor = first, second
            elif second.completions_served() > served[1]:
                victim, survivor = second, first
        assert victim is not None, "a completion request reached an endpoint"
        victim.kill()
        await pending  # answered (by the other endpoint), not an error
        assert survivor.completions_served() > served[1 if survivor is second else 0]
        for index in range(3):
            version += 1
            await _complete(client, version, f"after_kill_{index}")

        # Every endpoint down: the local model answers.
        survivor.kill()
        version += 1
        await _complete(client, version, "all_down")
        assert not [m for m in client.messages if m.type == types.MessageType.Error]
    finally:
        await _close(client)
    text = log.read_text()
    # Every request was answered by a model (what the 270M model says may be filtered out as useless,
    # so the log's token counts are the evidence, not the items).
    generated = [int(count) for count in re.findall(r"completion editor\.py:\d+ .*?, (\d+) tokens[ ,]", text)]
    assert len(generated) == version - 1, text[-3000:]
    assert all(count > 0 for count in generated), generated
    assert f"endpoint {victim.url} failed" in text
    assert "every endpoint is down: the local model answers" in text
    assert API_KEY not in text, "the API key never reaches the log"


async def test_every_endpoint_down_falls_back_to_the_local_engine(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    client = await _editor(["--engine", "fake", "--endpoint", dead, "--log-file", str(tmp_path / "log")], {}, environ_with())
    try:
        items = await _complete(client, 2, "local")
        assert [item.insert_text for item in items] == [FAKE_COMPLETION]
    finally:
        await _close(client)


async def test_with_the_fall_back_off_every_endpoint_down_gives_an_empty_answer_not_an_error(tmp_path):
    dead = [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    client = await _editor(
        ["--engine", "fake", "--endpoint", dead[0], "--endpoint", dead[1], "--log-file", str(tmp_path / "log")],
        {"endpointFallbackToLocal": False}, environ_with(),
    )
    try:
        assert not await _complete(client, 2, "nothing")
        assert not await _complete(client, 3, "still_nothing"), "the server keeps serving"
    finally:
        await _close(client)
    assert "the local fallback is off" in (tmp_path / "log").read_text()
