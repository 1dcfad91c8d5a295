"""``EndpointEngine``: the completion service's ``Engine`` backed by remote OpenAI-compatible servers.

Each request goes to the available endpoint with the fewest outstanding requests. A failure or a
stall longer than the timeout moves the same request to the next endpoint, so the editor never sees
the error; when every endpoint is down the local model answers (or, if that is switched off, nobody:
an empty completion).

Token budgets use the endpoints' tokenizer where the server offers one (``/extras/tokenize`` on
llama-cpp-python, ``/tokenize`` on llama.cpp) and the local model's otherwise. The prompt is sent
as text: ``run`` turns the tokens back into the text they were made from.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from fireside.completion.engine import Engine, Generation, ModelInfo, ModelLoadError, nothing_to_generate, room_for
from fireside.endpoints.openai_api import EndpointBusy, EndpointError, OpenAIClient, TokenizerRoute
from fireside.endpoints.pool import EndpointPool

logger = logging.getLogger(__name__)

MEMO_ENTRIES = 256  # texts of recent tokenize calls, to send a prompt without a detokenize round trip


class LocalTokenizer:
    """The local GGUF's vocabulary only (no weights): fast to load, exact round trips."""

    def __init__(self, path: Path) -> None:
        import llama_cpp

        try:
            self._llama = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
        except Exception as error:
            raise ModelLoadError(f"llama.cpp could not read the tokenizer of {path}: {error}") from error

    def tokenize(self, text: str) -> list[int]:
        return self._llama.tokenize(text.encode("utf-8", "surrogatepass"), add_bos=False, special=False)

    def detokenize(self, tokens: list[int]) -> str:
        return self._llama.detokenize(tokens).decode("utf-8", "ignore")


class EndpointEngine:
    def __init__(
        self,
        urls: Sequence[str],
        *,
        context_size: int,
        timeout_s: float,
        api_key: str | None,
        local_tokenizer: Callable[[], LocalTokenizer],
        local_engine: Callable[[], Engine] | None,
        health_interval_s: float = 2.0,
    ) -> None:
        if not urls:
            raise ModelLoadError("no endpoints configured")
        self._client = OpenAIClient(api_key)  # the worker thread's session
        self._prober = OpenAIClient(api_key)  # the health thread's own session
        self.pool = EndpointPool(tuple(urls), self._prober.probe, health_interval_s)
        self._timeout_s = timeout_s
        self._context_size = context_size
        self._make_local_tokenizer = local_tokenizer
        self._make_local_engine = local_engine
        self._local_tokenizer: LocalTokenizer | None = None
        self._local_engine: Engine | None = None
        self._local_lock = threading.Lock()
        self._memo: OrderedDict[tuple[int, ...], str] = OrderedDict()  # tokens -> the text they came from
        self._tokens_of: OrderedDict[str, tuple[int, ...]] = OrderedDict()  # and back
        # url -> how it tokenizes (None: it does not); absent until the server has answered that.
        self._routes: dict[str, TokenizerRoute | None] = {}
        names: list[str] = []
        for url in urls:  # one look at each server: what it serves, and whether it tokenizes
            try:
                names.extend(model.rsplit("/", 1)[-1] for model in self._client.models(url)[:1])
                self._route(url)
            except EndpointError as error:
                logger.warning("endpoint %s is not answering at start (%s); will keep trying", url, error)
                if not isinstance(error, EndpointBusy):  # busy is not down: requests have their own timeout
                    self.pool.failed(url, str(error))
        logger.info(
            "remote engines: %s (model %s; tokens from %s)",
            ", ".join(urls), names[0] if names else "unknown",
            "the endpoint" if any(self._routes.values()) else "the local model",
        )
        self.info = ModelInfo(
            path=", ".join(urls),
            name=f"{names[0] if names else 'remote'} @ {len(urls)} endpoint{'s' if len(urls) > 1 else ''}",
            architecture="remote",
            context_length=context_size,
            fim=None,  # prompts travel as text; FIM control tokens would not survive that
        )
        self.pool.start()

    @property
    def context_size(self) -> int:
        return self._context_size

    @property
    def start_tokens(self) -> list[int]:
        return []  # the server adds its own BOS to the text it gets

    # ----- tokens -------------------------------------------------------------------------------
    def _local(self) -> LocalTokenizer:
        with self._local_lock:
            if self._local_tokenizer is None:
                self._local_tokenizer = self._make_local_tokenizer()
            return self._local_tokenizer

    def _route(self, url: str) -> TokenizerRoute | None:
        if url not in self._routes:
            self._routes[url] = self._client.tokenizer_route(url, self._timeout_s)
        return self._routes[url]

    def tokenize(self, text: str) -> list[int]:
        # Definition stubs and headers repeat from keystroke to keystroke: no round trip for those.
        tokens = self._tokens_of.get(text)
        if tokens is not None:
            self._tokens_of.move_to_end(text)
            return list(tokens)
        for url in self.pool.candidates(rotate=False):
            try:
                route = self._route(url)
                if route is None:
                    continue
                tokens = self._client.tokenize(url, route, text, self._timeout_s)
                break
            except EndpointError as error:
                self.pool.failed(url, f"tokenize: {error}")
        if tokens is None:
            tokens = self._local().tokenize(text)
        self._memo[tuple(tokens)] = text
        self._memo.move_to_end(tuple(tokens))
        self._tokens_of[text] = tuple(tokens)
        for memo in (self._memo, self._tokens_of):
            while len(memo) > MEMO_ENTRIES:
                memo.popitem(last=False)
        return tokens

    def _text_of(self, tokens: Sequence[int]) -> str:
        key = tuple(tokens)
        if key in self._memo:
            return self._memo[key]
        # A prompt cut to its budget: its tokens are the tail of a tokenized text. Ask a server that
        # tokenizes to turn them back, else the local vocabulary.
        for url in self.pool.candidates(rotate=False):
            route = self._routes.get(url)
            if route is not None:
                try:
                    return self._client.detokenize(url, route, list(tokens), self._timeout_s)
                except EndpointError as error:
                    self.pool.failed(url, f"detokenize: {error}")
        return self._local().detokenize(list(tokens))

    # ----- generation ---------------------------------------------------------------------------
    def run(
        self,
        prompt_tokens: Sequence[int],
        *,
        max_tokens: int,
        stop_at: Callable[[str], int | None],
        cancelled: Callable[[], bool],
    ) -> Generation:
        started = time.perf_counter()
        max_tokens = room_for(max_tokens, self._context_size, len(prompt_tokens))
        if (early := nothing_to_generate(len(prompt_tokens), max_tokens, 0, cancelled)) is not None:
            return early
        prompt = self._text_of(prompt_tokens)
        tried: set[str] = set()
        first = True
        while True:
            candidates = [url for url in self.pool.candidates(rotate=first) if url not in tried]
            first = False
            if not candidates:
                break
            url = candidates[0]
            tried.add(url)
            try:
                with self.pool.using(url):
                    generation = self._run_on(url, prompt, len(prompt_tokens), max_tokens, stop_at, cancelled, started)
            except EndpointError as error:
                self.pool.failed(url, str(error))
                if cancelled():
                    return Generation("", len(prompt_tokens), 0, 0, "cancelled", time.perf_counter() - started)
                continue  # the same request on the next endpoint: the editor sees no error
            self.pool.succeeded(url)
            return generation
        return self._fallback(prompt_tokens, max_tokens, stop_at, cancelled, started)

    def _run_on(
        self,
        url: str,
        prompt: str,
        prompt_count: int,
        max_tokens: int,
        stop_at: Callable[[str], int | None],
        cancelled: Callable[[], bool],
        started: float,
    ) -> Generation:
        text = ""
        pieces = 0
        stopped_by = "limit"
        for piece in self._client.stream_completion(
            url, prompt, max_tokens=max_tokens, timeout_s=self._timeout_s, cancelled=cancelled
        ):
            text += piece
            pieces += 1
            cut = stop_at(text)
            if cut is not None:
                text, stopped_by = text[:cut], "stop"
                break
        else:
            if cancelled():
                stopped_by = "cancelled"
            elif pieces < max_tokens:
                stopped_by = "eos"
        # Streams count roughly one piece per token; the server does not report tokens when streaming.
        return Generation(text, prompt_count, 0, pieces, stopped_by, time.perf_counter() - started)

    def _fallback(
        self,
        prompt_tokens: Sequence[int],
        max_tokens: int,
        stop_at: Callable[[str], int | None],
        cancelled: Callable[[], bool],
        started: float,
    ) -> Generation:
        if self._make_local_engine is None:
            logger.warning("every endpoint is down and the local fallback is off: empty completion")
            return Generation("", len(prompt_tokens), 0, 0, "unavailable", time.perf_counter() - started)
        with self._local_lock:
            if self._local_engine is None:
                logger.warning("every endpoint is down: loading the local model to answer meanwhile")
                self._local_engine = self._make_local_engine()
            engine = self._local_engine
        logger.info("every endpoint is down: the local model answers")
        text = self._text_of(prompt_tokens)
        tokens = engine.start_tokens + engine.tokenize(text)
        return engine.run(tokens, max_tokens=max_tokens, stop_at=stop_at, cancelled=cancelled)

    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str:
        """Plain text in, text out (test generation's code actions)."""

        def stop_at(text: str) -> int | None:
            hits = [text.find(marker) for marker in stop if marker in text]
            return min(hits) if hits else None

        tokens = self.tokenize(prompt)
        budget = max(16, self._context_size - max_tokens - 1)
        if len(tokens) > budget:
            tokens = tokens[len(tokens) - budget :]
        return self.run(tokens, max_tokens=max_tokens, stop_at=stop_at, cancelled=lambda: False).text

    def close(self) -> None:
        self.pool.stop()
        self._client.close()
        self._prober.close()


def endpoint_engine_factory(config, local_factory: Callable[[object], Engine]) -> Engine:  # noqa: ANN001
    """The engine for ``config.endpoints``; ``local_factory`` builds the local model for the fall-back."""
    from fireside.models.catalog import resolve_model_path

    api_key = None
    if config.endpoint_api_key_env:
        api_key = os.environ.get(config.endpoint_api_key_env) or None
        if api_key is None:
            logger.warning("%s is not set: the endpoints get no API key", config.endpoint_api_key_env)
    local_path = resolve_model_path(config.model_path)
    return EndpointEngine(
        config.endpoints,
        context_size=config.context_size,
        timeout_s=config.endpoint_timeout_ms / 1000,
        api_key=api_key,
        local_tokenizer=lambda: LocalTokenizer(local_path),
        local_engine=(lambda: local_factory(config)) if config.endpoint_fallback_to_local else None,
    )
