"""Completions: the model's loading and state (``fireside/status``), inline and plain completion
requests with their debounce, and the entry for prefetches (``fireside.lsp.prefetch``)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lsprotocol import types

from fireside import protocol
from fireside.completion.scheduling import RequestClock
from fireside.completion.service import CompletionService, ModelState, ModelStatus
from fireside.completion.types import Completion
from fireside.config import FiresideConfig
from fireside.documents import Document, Unfit, unfit_for_model
from fireside.lsp import convert
from fireside.lsp.feature import LanguageFeature, guarded, guarded_sync

if TYPE_CHECKING:
    from fireside.lsp.server import FiresideServer

logger = logging.getLogger(__name__)

MODEL_WAIT_SECONDS = 60.0
COMPLETION_TRIGGERS = [".", "(", "[", "{", ",", "=", ":", " "]


class ModelSource(Protocol):
    """Where a model other than ``modelPath`` may come from (the models directory)."""

    @property
    def override(self) -> Path | None: ...

    @property
    def directory_changed(self) -> bool: ...

    def sync(self) -> None: ...


class CompletionFeature(LanguageFeature):
    name = "completion"

    def __init__(self, server: FiresideServer) -> None:
        self.server = server
        self.service: CompletionService = server.completions
        self.models: ModelSource | None = None  # set by the composition root when there is one
        self._loading: asyncio.Task[ModelStatus] | None = None
        self._request_generation: dict[str, int] = {}

    # ----- hooks ------------------------------------------------------------------------------
    async def initialized(self) -> None:
        await self.start_loading(pull_configuration=True)

    async def configuration_changed(self) -> None:
        if self.service.needs_reload(self.effective_config()) or (self.models is not None and self.models.directory_changed):
            await self.start_loading()

    def document_changed(self, document: Document, cursor: int | None) -> None:
        self.service.supersede(document.uri)

    def document_closed(self, uri: str) -> None:
        self.service.close(uri)

    async def shutdown(self) -> None:
        if self._loading is not None:
            self._loading.cancel()
        guarded_sync("completions", self.service.shutdown)

    def effective_config(self) -> FiresideConfig:
        """The settings, with the models directory's active model in place of ``modelPath``."""
        override = self.models.override if self.models is not None else None
        if override is not None:
            return self.server.config.replace(model_path=str(override))
        return self.server.config

    # ----- the model --------------------------------------------------------------------------
    def start_loading(self, *, pull_configuration: bool = False) -> asyncio.Task[ModelStatus]:
        """Load the model in the background; requests arriving meanwhile wait for it."""
        self._loading = asyncio.ensure_future(self._load(pull_configuration))
        return self._loading

    async def _load(self, pull_configuration: bool) -> ModelStatus:
        if pull_configuration:
            await self.server.pull_configuration()  # the settings may name another model
        if self.models is not None:
            guarded_sync("models", self.models.sync)  # its active model, if any, is the one to load
        config = self.effective_config()
        self.notify_status(ModelStatus(ModelState.LOADING, config.model_path or "embedded", "loading the model"))
        status = await self.service.load(config)
        self.notify_status(status)
        if status.state is ModelState.DEGRADED:
            self.server.tell_once(
                f"degraded:{status.message}",
                f"Fireside: no completions — the model could not be loaded ({status.message}). "
                "Set fireside.modelPath to a GGUF file, or leave it empty for the embedded model.",
                types.MessageType.Error,
            )
        elif status.state is ModelState.READY and not config.model_path and not config.endpoints:
            self._tell_if_fallback()
        return status

    def _tell_if_fallback(self) -> None:
        """The default model was missing, corrupt or refused, and the bundled fallback serves: say so once."""
        from fireside.models.catalog import fallback_notice

        engine = self.service.engine
        notice = fallback_notice(engine.info.path) if engine is not None else None
        if notice:
            self.server.tell_once("model-fallback", notice)

    def notify_status(self, status: ModelStatus) -> None:
        self.server.notify(protocol.STATUS_NOTIFICATION, protocol.StatusParams(status.state.value, status.model, status.message))

    async def loaded(self) -> None:
        """Wait for a load in progress (a swap must come after the start-up load, never under it)."""
        if self._loading is not None and not self._loading.done():
            await asyncio.shield(self._loading)

    async def model_ready(self) -> bool:
        if self._loading is not None and not self._loading.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._loading), MODEL_WAIT_SECONDS)
            except asyncio.TimeoutError:
                return False
        return self.service.engine is not None

    # ----- completions ------------------------------------------------------------------------
    def completable(self, uri: str, position: types.Position) -> tuple[Document, int] | None:
        """The document and cursor offset, or None when this request gets an empty answer."""
        document = self.server.documents.get(uri)
        if document is None:
            logger.debug("completion for a document that is not open: %s", uri)
            return None
        if not self.completes_in(document, tell=True):
            return None
        offset = document.offset_at(convert.to_position(position), self.server.encoding)
        if offset is None:
            logger.info("position %s is past the end of %s", position, uri)
            return None
        return document, offset

    def completes_in(self, document: Document, *, tell: bool) -> bool:
        """Whether ``document`` gets completions (language on, not too big, not binary); ``tell``
        says why not, once, when a user asked."""
        uri = document.uri
        if document.language_id not in self.server.config.enabled_languages:
            return False
        unfit = unfit_for_model(document.text, self.server.config.max_file_size)
        if unfit is Unfit.TOO_LARGE and tell:
            self.server.tell_once(
                f"large:{uri}",
                f"Fireside: {convert.path_hint(uri, self.server.root) or uri} is larger than maxFileSize "
                f"({len(document.text):,} > {self.server.config.max_file_size:,} characters); no completions there.",
                types.MessageType.Info,
            )
        elif unfit is Unfit.BINARY and tell:
            logger.info("no completions in %s: it contains NUL bytes (binary?)", uri)
        return unfit is None

    async def complete_at(self, uri: str, position: types.Position) -> tuple[Document, int, Completion | None] | None:
        clock = RequestClock()
        target = self.completable(uri, position)
        if target is None:
            return None
        document, offset = target
        generation = self._request_generation.get(uri, 0) + 1
        self._request_generation[uri] = generation
        version = document.version
        cached = self.service.peek(convert.completion_request(document, offset, self.server.config, self.server.root), self.server.config)
        if cached is not None:
            return document, offset, cached  # typing through the suggestion: no debounce, no model
        if self.server.config.debounce_ms:
            await asyncio.sleep(self.server.config.debounce_ms / 1000)
        clock.mark_debounced()
        if self._request_generation.get(uri) != generation or document.version != version:
            return None  # superseded while debouncing
        if not await self.model_ready():
            return None
        target = self.completable(uri, position)  # the document may have changed meanwhile
        if target is None:
            return None
        document, offset = target
        request = convert.completion_request(document, offset, self.server.config, self.server.root)
        completion = await self.service.complete(request, self.server.config, clock)
        if completion is not None:
            # queue: before the model thread took it (debounce included); worker: on the model thread
            # (syntax, prompt, model, clean-up); round trip: this handler, arrival to answer.
            logger.info(
                "completion %s:%s %d chars, prompt %d (reused %d, evaluated %d), %d tokens (drafts %d/%d kept), "
                "queue %.0f ms (debounce %.0f), model %.0f ms (%d threads), worker %.0f ms, round trip %.0f ms, stop: %s",
                convert.path_hint(uri, self.server.root), position.line, len(completion.text), completion.prompt_tokens,
                completion.reused_tokens, completion.evaluated_tokens, completion.generated_tokens,
                completion.accepted_tokens, completion.drafted_tokens, completion.queue_ms, clock.debounce_ms,
                completion.model_ms, completion.threads, completion.worker_ms, clock.round_trip_ms(), completion.stopped_by,
            )
        return document, offset, completion


    def prefetch_at(self, uri: str, offset: int) -> None:
        document = self.server.documents.get(uri)
        if document is None or self.service.engine is None or not self.completes_in(document, tell=False):
            return
        self.service.prefetch(convert.completion_request(document, offset, self.server.config, self.server.root), self.server.config)

    # ----- handlers ---------------------------------------------------------------------------
    def register(self, server: FiresideServer) -> None:
        @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
        async def inline_completion(ls: FiresideServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
            async def work() -> types.InlineCompletionList:
                result = await self.complete_at(params.text_document.uri, params.position)
                return convert.inline_completion_list(result[2] if result else None, params.position)

            return await guarded("inlineCompletion", lambda: types.InlineCompletionList(items=[]), work())

        @server.feature(
            types.TEXT_DOCUMENT_COMPLETION,
            types.CompletionOptions(trigger_characters=COMPLETION_TRIGGERS, resolve_provider=False),
        )
        async def completion(ls: FiresideServer, params: types.CompletionParams) -> types.CompletionList:
            async def work() -> types.CompletionList:
                result = await self.complete_at(params.text_document.uri, params.position)
                if result is None:
                    return types.CompletionList(is_incomplete=True, items=[])
                document, offset, found = result
                return convert.completion_list(found, document, offset, params.position, ls.encoding)

            return await guarded("completion", lambda: types.CompletionList(is_incomplete=True, items=[]), work())
