"""The completion service: one dedicated worker thread owns the model.

Requests from the event loop are queued to that thread. A newer completion request supersedes every
older one (the user types in one place; the older one stops within one graph node of the model, or
never starts), a prefetch gives way to any request, and a cancelled request (``$/cancelRequest``)
stops the same way. So a keystroke waits for nothing but the model thread's current graph node.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from fireside.completion.cache import CompletionCache
from fireside.completion.engine import Engine, ModelLoadError
from fireside.completion.guidance import NameGuide
from fireside.completion.pipeline import complete
from fireside.completion.scheduling import RequestClock
from fireside.completion.types import Completion, CompletionRequest, StopReason
from fireside.config import FiresideConfig
from fireside.context.index import WorkspaceIndex
from fireside.context.languages import language_for
from fireside.context.names import MAX_ORACLE_CHARS, MAX_SLOT_SCAN_CHARS, NameQuery, NameService
from fireside.context.trees import DocumentTrees
from fireside.documents import uri_to_path

logger = logging.getLogger(__name__)

EngineFactory = Callable[[FiresideConfig], Engine]


class ModelState(enum.Enum):
    LOADING = "loading"
    READY = "ready"
    DEGRADED = "degraded"  # no usable model: the server keeps serving, with empty results


@dataclass(frozen=True)
class ModelStatus:
    state: ModelState
    model: str  # the model's name or path
    message: str  # for users; why it is degraded


class CompletionService:
    def __init__(self, engine_factory: EngineFactory, index: WorkspaceIndex | None = None) -> None:
        self._engine_factory = engine_factory
        self.index = index
        self.workspace_root = ""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fireside-model")
        self._engine: Engine | None = None
        self._latest: dict[str, threading.Event] = {}
        self._prefetches: set[threading.Event] = set()
        self._cache = CompletionCache()
        self._trees = DocumentTrees()  # used on the worker thread only
        self._loaded_with: tuple[object, ...] | None = None
        self.names = NameService()  # name tables for guided decoding, on their own thread
        self.status = ModelStatus(ModelState.LOADING, "", "loading the model")

    @staticmethod
    def _model_key(config: FiresideConfig) -> tuple[object, ...]:
        return (
            config.model_path, config.context_size, config.threads, config.effective_threads, config.endpoints,
            config.endpoint_api_key_env, config.endpoint_timeout_ms, config.endpoint_fallback_to_local,
        )

    def needs_reload(self, config: FiresideConfig) -> bool:
        return self._loaded_with != self._model_key(config)

    async def load(self, config: FiresideConfig) -> ModelStatus:
        """Load (or reload) the model on the worker thread; never raises."""
        self.status = ModelStatus(ModelState.LOADING, config.model_path or "embedded", "loading the model")
        loop = asyncio.get_running_loop()
        self.status = await loop.run_in_executor(self._executor, self._load, config)
        return self.status

    async def swap(self, config: FiresideConfig) -> ModelStatus | str:
        """Load the model ``config`` names and put it in place of the current one, atomically: the swap
        is queued on the worker, so requests already running finish with the old engine and later ones
        get the new one. On failure the current engine keeps serving and the error message is returned."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._swap, config)

    def _swap(self, config: FiresideConfig) -> ModelStatus | str:
        try:
            engine = self._engine_factory(config)
        except Exception as error:  # the old engine keeps serving
            logger.exception("Model swap failed")
            return str(error) if isinstance(error, ModelLoadError) else f"{type(error).__name__}: {error}"
        self._close(self._engine)
        self._engine = engine
        self._prepare_guidance(engine, config)
        self._cache = CompletionCache()
        self._loaded_with = self._model_key(config)
        self.status = ModelStatus(ModelState.READY, engine.info.name, "")
        logger.info("Model swapped in: %s (%s)", engine.info.name, engine.info.path)
        return self.status

    @staticmethod
    def _close(engine: Engine | None) -> None:
        close = getattr(engine, "close", None)  # remote engines stop their health checks
        if close is not None:
            close()

    def _load(self, config: FiresideConfig) -> ModelStatus:
        self._close(self._engine)
        self._engine = None
        self._cache = CompletionCache()  # completions of another model are no answer for this one
        self._loaded_with = self._model_key(config)
        try:
            engine = self._engine_factory(config)
        except ModelLoadError as error:
            logger.error("Model not loaded: %s", error)
            return ModelStatus(ModelState.DEGRADED, config.model_path or "embedded", str(error))
        except Exception as error:  # any failure here must leave the server serving
            logger.exception("Model not loaded")
            return ModelStatus(ModelState.DEGRADED, config.model_path or "embedded", f"{type(error).__name__}: {error}")
        self._engine = engine
        self._prepare_guidance(engine, config)
        logger.info("Model ready: %s (%s, FIM: %s)", engine.info.name, engine.info.path, engine.info.fim is not None)
        return ModelStatus(ModelState.READY, engine.info.name, "")

    def _prepare_guidance(self, engine: Engine, config: FiresideConfig) -> None:
        """On the names thread: jedi's first answer (a second or more; not on a keystroke) and the
        model's vocabulary index."""
        if config.name_guidance and getattr(engine, "supports_guidance", False):
            self.names.warm_up()
            prepare = getattr(engine, "prepare_guidance", None)
            if prepare is not None:
                self.names.in_background(prepare)

    @property
    def engine(self) -> Engine | None:
        return self._engine

    async def complete(
        self, request: CompletionRequest, config: FiresideConfig, clock: RequestClock | None = None
    ) -> Completion | None:
        """The completion at the cursor, or None when there is no model or the request was superseded.
        ``clock`` gets the times the model thread took and finished the request."""
        if self._engine is None:
            return None
        hit = self.peek(request, config)
        if hit is not None:
            return hit
        self.cancel_prefetches()
        for previous in self._latest.values():
            previous.set()  # superseded: the user asked again (here or in another document)
        cancel = threading.Event()
        self._latest[request.uri] = cancel
        future = self._executor.submit(self._run, request, config, cancel, clock or RequestClock())
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            cancel.set()  # $/cancelRequest: stop generating at the next token
            raise
        finally:
            if self._latest.get(request.uri) is cancel:
                del self._latest[request.uri]

    def guide_for(self, request: CompletionRequest, config: FiresideConfig) -> NameGuide | None:
        """Start computing the request's name table (on the names thread, while the model reads the
        prompt); None when guidance is off or the language has no oracle."""
        if not config.name_guidance or getattr(self._engine, "supports_guidance", False) is False:
            return None
        spec = language_for(request.language_id, request.uri)
        if spec is None or len(request.text) > MAX_ORACLE_CHARS:
            return None
        path = uri_to_path(request.uri)
        query = NameQuery(request.text, request.offset, str(path) if path else "", self.workspace_root, spec.language_id)
        return NameGuide(request.prefix[-MAX_SLOT_SCAN_CHARS:], self.names.table(query))

    def prompt_shape(self, request: CompletionRequest, config: FiresideConfig) -> tuple[object, ...]:
        """What shapes the prompt besides the request's own text: the settings that build it and what
        the workspace index knows of other files (the cache's key has both)."""
        path = uri_to_path(request.uri)
        generation = self.index.generation_except(str(path) if path else None) if self.index is not None else 0
        return (
            frozenset(config.context_features), config.max_prompt_tokens, config.context_size, self.workspace_root,
            generation, config.name_guidance,
        )

    def peek(self, request: CompletionRequest, config: FiresideConfig) -> Completion | None:
        """A cached answer (exact repeat or typing-through), found on the event loop at once."""
        if self._engine is None:
            return None
        hit = self._cache.lookup(request, self.prompt_shape(request, config))
        if hit is None:
            return None
        self.supersede(request.uri)
        text, kind = hit
        return Completion(text, "\n" in text, 0, 0, 0, kind, 0.0)

    def prefetch(self, request: CompletionRequest, config: FiresideConfig) -> None:
        """Compute a completion nobody asked for yet (the user paused, a file opened) so that the
        request that follows is a cache hit. Any real request cancels it."""
        if self._engine is None or self._cache.lookup(request, self.prompt_shape(request, config)) is not None:
            return
        cancel = threading.Event()
        self._prefetches.add(cancel)

        def run() -> None:
            try:
                if self._cache.lookup(request, self.prompt_shape(request, config)) is None:  # answered meanwhile?
                    self._run(request, config, cancel)
            except Exception:
                logger.debug("prefetch failed", exc_info=True)
            finally:
                self._prefetches.discard(cancel)

        self._executor.submit(run)

    def cancel_prefetches(self) -> None:
        """Background guesses give way to what the user asked for (a completion, a code action)."""
        for prefetch in list(self._prefetches):
            prefetch.set()

    def supersede(self, uri: str) -> None:
        """Stop work for ``uri`` (the document changed or closed)."""
        event = self._latest.get(uri)
        if event is not None:
            event.set()

    def close(self, uri: str) -> None:
        """The document was closed: stop its work, let go of its syntax tree and its cached answers."""
        self.supersede(uri)
        self._trees.forget(uri)
        self._cache.forget(uri)

    def _run(
        self, request: CompletionRequest, config: FiresideConfig, cancel: threading.Event, clock: RequestClock | None = None
    ) -> Completion | None:
        if clock is not None:
            clock.mark_started()
        engine = self._engine
        if engine is None or cancel.is_set():
            return None
        shape = self.prompt_shape(request, config)  # before the prompt is built: an index change meanwhile misses
        completion = complete(
            engine,
            request,
            max_prompt_tokens=config.max_prompt_tokens,
            context_size=config.context_size,
            cancelled=cancel.is_set,
            features=frozenset(config.context_features),
            index=self.index,
            workspace_root=self.workspace_root,
            trees=self._trees,
            guide=self.guide_for(request, config),
        )
        run = getattr(engine, "last_run", None)  # the local engine's own figures
        if clock is not None:
            clock.mark_finished()
            completion = dataclasses.replace(
                completion,
                queue_ms=clock.queue_ms,
                worker_ms=clock.worker_ms,
                evaluated_tokens=getattr(run, "evaluated_tokens", 0),
                drafted_tokens=getattr(run, "drafted_tokens", 0),
                accepted_tokens=getattr(run, "accepted_tokens", 0),
                threads=getattr(run, "threads", 0),
            )
        if completion.stopped_by == StopReason.UNAVAILABLE:  # every remote engine down: ask again next time
            logger.info("no engine available for this completion")
        elif completion.stopped_by == StopReason.CANCELLED:
            logger.info("generation cancelled after %d tokens (%.0f ms)", completion.generated_tokens, completion.model_ms)
        else:
            self._cache.store(request, completion.text, shape)
        return completion

    def run_on_worker(self, function: Callable[[Engine], object]) -> asyncio.Future[object]:
        """Run ``function(engine)`` on the model thread (for other features that use the model)."""
        engine = self._engine
        if engine is None:
            raise ModelLoadError(self.status.message or "no model loaded")
        return asyncio.wrap_future(self._executor.submit(function, engine))

    def shutdown(self) -> None:
        for event in [*self._latest.values(), *self._prefetches]:
            event.set()
        engine, self._engine = self._engine, None
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.names.shutdown()

        def close_when_idle() -> None:
            # Freeing a llama context under a running decode would crash the process: wait for the
            # model thread to finish what it is doing (cancelled, so at once).
            self._executor.shutdown(wait=True)
            self._close(engine)

        threading.Thread(target=close_when_idle, name="fireside-model-close").start()
