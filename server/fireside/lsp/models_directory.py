"""The models directory (``modelsDir``): GGUF files dropped there are validated and swapped in
(``fireside/modelChanged``, ``fireside/modelRejected``); `fireside models rollback` is followed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from fireside import protocol
from fireside.lsp.feature import LanguageFeature, guarded_sync

if TYPE_CHECKING:
    from fireside.lsp.completion_feature import CompletionFeature
    from fireside.lsp.server import FiresideServer

logger = logging.getLogger(__name__)


class ModelsDirectoryFeature(LanguageFeature):
    """The completion feature asks it for the model to load (``override``) and to follow the settings
    (``sync``, before each load); it swaps models in through the completion service."""

    name = "models"

    def __init__(self, server: FiresideServer, completion: CompletionFeature) -> None:
        self.server = server
        self.completion = completion
        self.lifecycle: Any = None  # fireside.models.lifecycle.ModelLifecycle while modelsDir is set
        self._models_dir: str | None = None
        self.override: Path | None = None  # the model the models directory says to serve

    @property
    def directory_changed(self) -> bool:
        """The settings name another directory than the one watched."""
        return self.server.config.models_dir != self._models_dir

    async def shutdown(self) -> None:
        if self.lifecycle is not None:
            guarded_sync("models", self.lifecycle.stop)

    def sync(self) -> None:
        """Start or stop watching ``modelsDir`` to match the settings."""
        from fireside.models.lifecycle import ModelLifecycle

        directory = self.server.config.models_dir
        if directory == self._models_dir or self.server.session_closed:
            return
        if self.lifecycle is not None:
            self.lifecycle.stop()
            self.lifecycle = None
            self.override = None
        self._models_dir = directory
        if directory is None:
            return
        loop = asyncio.get_running_loop()

        def on_loop(callback: Callable[..., Awaitable[None]]) -> Callable[..., None]:
            # Verdicts arrive on the lifecycle thread; the swap and the messages happen on the loop.
            return lambda *args: loop.call_soon_threadsafe(lambda: asyncio.ensure_future(callback(*args)))

        self.lifecycle = ModelLifecycle(
            Path(directory).expanduser(),
            latency_budget_ms=self.server.config.model_latency_budget_ms,
            on_accepted=on_loop(self._model_accepted),
            on_rejected=on_loop(self._model_rejected),
            on_activate=on_loop(self._model_activated),
        )
        try:
            self.override = self.lifecycle.start()
        except OSError as error:
            self.lifecycle = None
            self.server.tell_once(f"models-dir:{directory}", f"Fireside: cannot watch the models directory {directory}: {error}")

    async def _model_accepted(self, verdict: Any) -> None:
        await self._swap_model(verdict.path, verdict.previous, None)

    async def _model_activated(self, path: Path) -> None:
        await self._swap_model(path, self.override.name if self.override else None, "rollback")

    async def _swap_model(self, path: Path, previous: str | None, reason: str | None) -> None:
        await self.completion.loaded()  # swap after the start-up load, never under it
        before = self.override
        self.override = path
        result = await self.completion.service.swap(self.completion.effective_config())
        if isinstance(result, str):
            self.override = before
            self.server.show(types.MessageType.Error, f"Fireside: could not switch to the model {path.name}: {result}")
            return
        changed = protocol.ModelChangedParams(result.model, str(path), previous, "rollback" if reason == "rollback" else None)
        self.server.notify(protocol.MODEL_CHANGED_NOTIFICATION, changed)
        self.completion.notify_status(result)
        how = "rolled back to" if reason == "rollback" else "now completes with"
        self.server.show(types.MessageType.Info, f"Fireside {how} {path.name} ({result.model}).")

    async def _model_rejected(self, verdict: Any) -> None:
        reason = verdict.report.reason
        self.server.notify(protocol.MODEL_REJECTED_NOTIFICATION, protocol.ModelRejectedParams(str(verdict.path), reason))
        serving = self.completion.service.status.model or "the current model"
        self.server.show(
            types.MessageType.Warning,
            f"Fireside rejected the model {verdict.path.name}: {reason}. {serving} keeps serving.",
        )
