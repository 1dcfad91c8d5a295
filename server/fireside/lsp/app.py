"""The composition root: the one place that builds the server and its features, each with what it
needs, in the order their hooks run. To add a feature: write a ``LanguageFeature`` (its handlers in
``register``, its start and stop in the hooks), build it here, and add it to the list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fireside.completion.service import EngineFactory
from fireside.lsp.code_actions import CodeActionsFeature
from fireside.lsp.completion_feature import CompletionFeature
from fireside.lsp.models_directory import ModelsDirectoryFeature
from fireside.lsp.monitor import MonitorFeature
from fireside.lsp.prefetch import PrefetchFeature
from fireside.lsp.server import FiresideServer


def create_server(engine_factory: EngineFactory, cli_settings: Mapping[str, Any] | None = None) -> FiresideServer:
    server = FiresideServer(engine_factory, cli_settings)
    completion = CompletionFeature(server)
    models = ModelsDirectoryFeature(server, completion)
    completion.models = models  # the model to load comes from the models directory when it names one
    server.use(
        [
            # Hooks run in this order: prefetches stop before the model does at shutdown; the model
            # loads (initialized) before the monitor starts, as the session's first work.
            PrefetchFeature(completion),
            completion,
            models,
            MonitorFeature(server),
            CodeActionsFeature(completion),
        ]
    )
    return server
