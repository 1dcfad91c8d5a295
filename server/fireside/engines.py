"""Builds the engines completions run on: the local model (llama.cpp), remote OpenAI-compatible
endpoints with the local model as their fall-back, and the fake engine of the protocol tests.

This is the one module above ``completion/``, ``endpoints/`` and ``models/`` that knows them all
(pyproject.toml's import contract): ``completion`` depends only on its ``Engine`` protocol and is
handed an ``EngineFactory``; the CLI asks :func:`engine_factory` for the one it serves with.
"""

from __future__ import annotations

import logging
import os
from typing import Literal

from fireside.completion.engine import Engine, ModelLoadError
from fireside.completion.service import EngineFactory
from fireside.config import FiresideConfig
from fireside.models.catalog import ResolvedModel, resolve_model

logger = logging.getLogger(__name__)

EngineKind = Literal["llama", "fake"]


def local_model(config: FiresideConfig) -> ResolvedModel:
    """The one rule for which GGUF the local engine loads (and whose vocabulary the endpoints' token
    budgets fall back to): ``modelPath`` when set, else the default chosen for this machine, else the
    bundled fallback (``fireside.models.catalog.resolve_model`` decides)."""
    return resolve_model(config.model_path)


def llama_engine(config: FiresideConfig) -> Engine:
    """The local model. A default that is sound on disk but that llama.cpp refuses is replaced by the
    fallback too; the server tells the user."""
    from fireside.completion.engine import LlamaEngine

    resolved = local_model(config)
    if resolved.problem:
        logger.warning("%s; loading the fallback %s", resolved.problem, resolved.path)
    try:
        return LlamaEngine(resolved.path, context_size=config.context_size, threads=config.effective_threads,
                           adaptive_threads=config.threads == 0)
    except ModelLoadError as error:
        if resolved.fallback is None:
            raise
        logger.error("The default model %s could not be loaded (%s); loading the fallback %s", resolved.name, error, resolved.fallback)
        return LlamaEngine(resolved.fallback, context_size=config.context_size, threads=config.effective_threads,
                           adaptive_threads=config.threads == 0)


def endpoint_engine(config: FiresideConfig, local: EngineFactory) -> Engine:
    """The engine for ``config.endpoints``; ``local`` builds the local model for the fall-back."""
    from fireside.endpoints.engine import EndpointEngine, LocalTokenizer

    api_key = None
    if config.endpoint_api_key_env:
        api_key = os.environ.get(config.endpoint_api_key_env) or None
        if api_key is None:
            logger.warning("%s is not set: the endpoints get no API key", config.endpoint_api_key_env)
    local_path = local_model(config).path
    return EndpointEngine(
        config.endpoints,
        context_size=config.context_size,
        timeout_s=config.endpoint_timeout_ms / 1000,
        api_key=api_key,
        local_tokenizer=lambda: LocalTokenizer(local_path),
        local_engine=(lambda: local(config)) if config.endpoint_fallback_to_local else None,
    )


def serving(local: EngineFactory) -> EngineFactory:
    """Remote engines when ``config.endpoints`` names any (``local`` as their fall-back), else ``local``."""

    def factory(config: FiresideConfig) -> Engine:
        return endpoint_engine(config, local) if config.endpoints else local(config)

    return factory


def fake_engine(token_delay_s: float = 0.0) -> EngineFactory:
    """The deterministic stand-in of the protocol tests (``fireside serve --engine fake``)."""
    from fireside.completion.fake_engine import FakeEngine

    def factory(config: FiresideConfig) -> Engine:
        return FakeEngine(token_delay_s=token_delay_s, context_size=config.context_size)

    return factory


def engine_factory(kind: EngineKind = "llama", *, fake_token_delay_s: float = 0.0) -> EngineFactory:
    """The factory the server loads its engine with: remote endpoints when configured, else the local
    model (or the fake one)."""
    return serving(fake_engine(fake_token_delay_s) if kind == "fake" else llama_engine)
