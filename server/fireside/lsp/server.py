"""The Fireside language server. Handlers are thin: lsprotocol params → domain → pure function → result.

Every feature is wrapped so that its failure is logged and answered with an empty result; the
server keeps serving.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from fireside import __version__, protocol
from fireside.addresses import may_carry_secret
from fireside.completion.scheduling import PAUSE_MS, RequestClock
from fireside.completion.service import CompletionService, EngineFactory, ModelState, ModelStatus
from fireside.completion.types import Completion
from fireside.config import FiresideConfig, merge_config, without_restricted
from fireside.context.index import WorkspaceIndex
from fireside.context.workspace import WorkspaceWatcher
from fireside.documents import Document, DocumentStore, uri_to_path
from fireside.logs import set_level
from fireside.lsp import convert
from fireside.lsp.auth import AUTH_TOKEN_OPTION
from fireside.lsp.jsonrpc import FiresideProtocol

logger = logging.getLogger(__name__)

T = TypeVar("T")
MODEL_WAIT_SECONDS = 60.0
CONFIG_PULL_SECONDS = 5.0
COMPLETION_TRIGGERS = [".", "(", "[", "{", ",", "=", ":", " "]


class FiresideServer(LanguageServer):
    def __init__(self, engine_factory: EngineFactory, cli_settings: Mapping[str, Any] | None = None) -> None:
        super().__init__(
            "fireside",
            __version__,
            protocol_cls=FiresideProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        # Flags given on the command line win over editor settings: they were chosen for this process.
        self.cli_settings = dict(cli_settings or {})
        self.config, problems = merge_config(FiresideConfig(), self.cli_settings)
        self._startup_problems = problems
        self.documents = DocumentStore()
        self.index = WorkspaceIndex()
        self.completions = CompletionService(engine_factory, self.index)
        self.watcher: WorkspaceWatcher | None = None
        self.root: Path | None = None
        self._told: set[str] = set()
        self._loading: asyncio.Task[ModelStatus] | None = None
        self._request_generation: dict[str, int] = {}
        self.monitor: Any = None  # fireside.monitor.supervisor.MonitorSupervisor while configured
        self._monitor_argv: list[str] | None = None
        self._alert_status: dict[tuple[tuple[str, str], ...], str] = {}
        self._pause_tasks: dict[str, asyncio.Task[None]] = {}
        self.models: Any = None  # fireside.models.lifecycle.ModelLifecycle while modelsDir is set
        self._models_dir: str | None = None
        self.model_override: Path | None = None  # the model the models directory says to serve
        # Called (in order, each guarded) when the session ends: features that start their own work add here.
        self.session_closers: list[Callable[[], Awaitable[None] | None]] = []
        self._session_closed = False

    # ----- telling the user, once -------------------------------------------------------------
    def tell_once(self, key: str, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        if key in self._told:
            return
        self._told.add(key)
        logger.warning("%s", message)
        self._send_message(kind, message)

    def _send_message(self, kind: types.MessageType, message: str) -> None:
        try:
            self.window_show_message(types.ShowMessageParams(type=kind, message=message))
        except Exception:  # no transport yet (unit tests) must not break the caller
            logger.debug("could not send showMessage", exc_info=True)

    def report_server_error(self, error: Exception, source: Any) -> None:
        from pygls.exceptions import FeatureRequestError, JsonRpcException

        if source is JsonRpcException:
            # A frame that could not be read at all: answer it, keep reading.
            self.protocol.report_unreadable_frame(error)  # type: ignore[attr-defined]
            return
        if source is FeatureRequestError:
            logger.debug("request error (already answered): %s", error)
            return
        logger.error("Internal error (%s): %s", getattr(source, "__name__", source), error)

    # ----- configuration ----------------------------------------------------------------------
    def apply_settings(self, raw: Any, source: str) -> bool:
        """Apply editor settings; returns True when the model has to be reloaded.

        Settings that load a file, contact a server or name a secret (config.RESTRICTED_SETTINGS) come
        only from the command line: an editor's settings may be a workspace's, so they are ignored here.
        """
        raw, ignored = without_restricted(raw)
        for name, flag in ignored.items():
            self.tell_once(
                f"restricted:{name}",
                f"Fireside: ignored {name} from the editor's settings ({source}): a workspace could set it. "
                f"Give it on the server's command line ({flag}); in VS Code, set it in your user settings.",
            )
        config, problems = merge_config(FiresideConfig(), raw)
        config, cli_problems = merge_config(config, self.cli_settings)
        for problem in [*problems, *cli_problems]:
            self.tell_once(f"config:{problem}", f"Fireside: invalid setting from {source}: {problem}.")
        self.config = config
        set_level(config.log_level)
        key_env = config.endpoint_api_key_env
        if config.endpoints and key_env and not os.environ.get(key_env):
            # Otherwise the user only ever sees completions stop, while the log fills with HTTP 401s.
            self.tell_once(
                f"api-key:{key_env}",
                f"Fireside: endpointApiKeyEnv names {key_env}, which is not set in the server's environment: "
                "the endpoints get no API key. Set it where the editor starts the server, then restart Fireside.",
            )
        if key_env:
            for url in config.endpoints:
                if not may_carry_secret(url):
                    self.tell_once(
                        f"api-key-http:{url}",
                        f"Fireside: the endpoint {url} is plain http:// to another machine: the API key is not sent "
                        "to it. Use https://, or an SSH tunnel to a loopback port.",
                    )
        return self.completions.needs_reload(self.effective_config())

    def effective_config(self) -> FiresideConfig:
        """The settings, with the models directory's active model in place of ``modelPath``."""
        if self.model_override is not None:
            return self.config.replace(model_path=str(self.model_override))
        return self.config

    async def pull_configuration(self) -> bool:
        capabilities = self.client_capabilities.workspace
        if not (capabilities and capabilities.configuration):
            return False
        try:
            result = await asyncio.wait_for(
                self.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section="fireside")])
                ),
                CONFIG_PULL_SECONDS,
            )
        except Exception as error:
            logger.info("workspace/configuration not answered: %s", error)
            return False
        if result and isinstance(result[0], Mapping):
            return self.apply_settings(result[0], "workspace/configuration")
        return False

    # ----- the model --------------------------------------------------------------------------
    def start_loading(self, *, pull_configuration: bool = False) -> asyncio.Task[ModelStatus]:
        """Load the model in the background; requests arriving meanwhile wait for it."""
        self._loading = asyncio.ensure_future(self._load(pull_configuration))
        return self._loading

    async def _load(self, pull_configuration: bool) -> ModelStatus:
        if pull_configuration:
            await self.pull_configuration()  # the settings may name another model
        guarded_sync("models", self.sync_models)  # its active model, if any, is the one to load
        config = self.effective_config()
        self._notify_status(ModelStatus(ModelState.LOADING, config.model_path or "embedded", "loading the model"))
        status = await self.completions.load(config)
        self._notify_status(status)
        if status.state is ModelState.DEGRADED:
            self.tell_once(
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

        engine = self.completions.engine
        notice = fallback_notice(engine.info.path) if engine is not None else None
        if notice:
            self.tell_once("model-fallback", notice)

    def _notify_status(self, status: ModelStatus) -> None:
        self._notify(
            protocol.STATUS_NOTIFICATION, {"state": status.state.value, "model": status.model, "message": status.message}
        )

    async def model_ready(self) -> bool:
        if self._loading is not None and not self._loading.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._loading), MODEL_WAIT_SECONDS)
            except asyncio.TimeoutError:
                return False
        return self.completions.engine is not None

    # ----- completions ------------------------------------------------------------------------
    def completable(self, uri: str, position: types.Position) -> tuple[Document, int] | None:
        """The document and cursor offset, or None when this request gets an empty answer."""
        document = self.documents.get(uri)
        if document is None:
            logger.debug("completion for a document that is not open: %s", uri)
            return None
        if not self._completes_in(document, tell=True):
            return None
        offset = document.offset_at(convert.to_position(position), self.encoding)
        if offset is None:
            logger.info("position %s is past the end of %s", position, uri)
            return None
        return document, offset

    def _completes_in(self, document: Document, *, tell: bool) -> bool:
        """Whether ``document`` gets completions (language on, not too big, not binary); ``tell``
        says why not, once, when a user asked."""
        uri = document.uri
        if document.language_id not in self.config.enabled_languages:
            return False
        if len(document.text) > self.config.max_file_size:
            if tell:
                self.tell_once(
                    f"large:{uri}",
                    f"Fireside: {convert.path_hint(uri, self.root) or uri} is larger than maxFileSize "
                    f"({len(document.text):,} > {self.config.max_file_size:,} characters); no completions there.",
                    types.MessageType.Info,
                )
            return False
        if "\x00" in document.text:
            if tell:
                logger.info("no completions in %s: it contains NUL bytes (binary?)", uri)
            return False
        return True

    @property
    def encoding(self) -> convert.Encoding:
        return convert.encoding_of(self.workspace.position_encoding)

    async def complete_at(self, uri: str, position: types.Position) -> tuple[Document, int, Completion | None] | None:
        clock = RequestClock()
        target = self.completable(uri, position)
        if target is None:
            return None
        document, offset = target
        generation = self._request_generation.get(uri, 0) + 1
        self._request_generation[uri] = generation
        version = document.version
        cached = self.completions.peek(convert.completion_request(document, offset, self.config, self.root))
        if cached is not None:
            return document, offset, cached  # typing through the suggestion: no debounce, no model
        if self.config.debounce_ms:
            await asyncio.sleep(self.config.debounce_ms / 1000)
        clock.mark_debounced()
        if self._request_generation.get(uri) != generation or document.version != version:
            return None  # superseded while debouncing
        if not await self.model_ready():
            return None
        target = self.completable(uri, position)  # the document may have changed meanwhile
        if target is None:
            return None
        document, offset = target
        request = convert.completion_request(document, offset, self.config, self.root)
        completion = await self.completions.complete(request, self.config, clock)
        if completion is not None:
            # queue: before the model thread took it (debounce included); worker: on the model thread
            # (syntax, prompt, model, clean-up); round trip: this handler, arrival to answer.
            logger.info(
                "completion %s:%s %d chars, prompt %d (reused %d, evaluated %d), %d tokens (drafts %d/%d kept), "
                "queue %.0f ms (debounce %.0f), model %.0f ms, worker %.0f ms, round trip %.0f ms, stop: %s",
                convert.path_hint(uri, self.root), position.line, len(completion.text), completion.prompt_tokens,
                completion.reused_tokens, completion.evaluated_tokens, completion.generated_tokens,
                completion.accepted_tokens, completion.drafted_tokens, completion.queue_ms, clock.debounce_ms,
                completion.model_ms, completion.worker_ms, clock.round_trip_ms(), completion.stopped_by,
            )
        return document, offset, completion


    # ----- the models directory ---------------------------------------------------------------
    def sync_models(self) -> None:
        """Start or stop watching ``modelsDir`` to match the settings."""
        from fireside.models.lifecycle import ModelLifecycle

        directory = self.config.models_dir
        if directory == self._models_dir or self._session_closed:
            return
        if self.models is not None:
            self.models.stop()
            self.models = None
            self.model_override = None
        self._models_dir = directory
        if directory is None:
            return
        loop = asyncio.get_running_loop()

        def on_loop(callback: Callable[..., Awaitable[None]]) -> Callable[..., None]:
            # Verdicts arrive on the lifecycle thread; the swap and the messages happen on the loop.
            return lambda *args: loop.call_soon_threadsafe(lambda: asyncio.ensure_future(callback(*args)))

        self.models = ModelLifecycle(
            Path(directory).expanduser(),
            latency_budget_ms=self.config.model_latency_budget_ms,
            on_accepted=on_loop(self._model_accepted),
            on_rejected=on_loop(self._model_rejected),
            on_activate=on_loop(self._model_activated),
        )
        try:
            self.model_override = self.models.start()
        except OSError as error:
            self.models = None
            self.tell_once(f"models-dir:{directory}", f"Fireside: cannot watch the models directory {directory}: {error}")

    async def _model_accepted(self, verdict: Any) -> None:
        await self._swap_model(verdict.path, verdict.previous, None)

    async def _model_activated(self, path: Path) -> None:
        await self._swap_model(path, self.model_override.name if self.model_override else None, "rollback")

    async def _swap_model(self, path: Path, previous: str | None, reason: str | None) -> None:
        if self._loading is not None and not self._loading.done():
            await asyncio.shield(self._loading)  # swap after the start-up load, never under it
        before = self.model_override
        self.model_override = path
        result = await self.completions.swap(self.effective_config())
        if isinstance(result, str):
            self.model_override = before
            self._show(types.MessageType.Error, f"Fireside: could not switch to the model {path.name}: {result}")
            return
        params = {"model": result.model, "path": str(path), "previous": previous}
        if reason:
            params["reason"] = reason
        self._notify(protocol.MODEL_CHANGED_NOTIFICATION, params)
        self._notify_status(result)
        how = "rolled back to" if reason == "rollback" else "now completes with"
        self._show(types.MessageType.Info, f"Fireside {how} {path.name} ({result.model}).")

    async def _model_rejected(self, verdict: Any) -> None:
        reason = verdict.report.reason
        self._notify(protocol.MODEL_REJECTED_NOTIFICATION, {"path": str(verdict.path), "reason": reason})
        serving = self.completions.status.model or "the current model"
        self._show(
            types.MessageType.Warning,
            f"Fireside rejected the model {verdict.path.name}: {reason}. {serving} keeps serving.",
        )

    def _notify(self, method: str, params: dict[str, Any]) -> None:
        try:
            self.protocol.notify(method, params)
        except Exception:
            logger.debug("could not send %s", method, exc_info=True)

    def _show(self, kind: types.MessageType, message: str) -> None:
        logger.info("%s", message)
        self._send_message(kind, message)

    # ----- the anomaly monitor ----------------------------------------------------------------
    async def sync_monitor(self) -> None:
        """Start, restart or stop `fireside monitor` to match the settings."""
        from fireside.monitor.supervisor import MonitorSupervisor, monitor_argv

        if self._session_closed:
            return  # the client left while this was on its way: start nothing for nobody
        config = self.config
        argv = (
            monitor_argv(config.prometheus_url, config.monitor_queries, config.alertmanager_url, config.monitor_config)
            if config.prometheus_url
            else None
        )
        if argv == self._monitor_argv:
            return
        if self.monitor is not None:
            await self.monitor.stop()
            self.monitor = None
        self._monitor_argv = argv
        if argv is not None and not self._session_closed:
            self.monitor = MonitorSupervisor(argv, self.on_alert, self.on_monitor_status)
            await self.monitor.start()
            logger.info("anomaly monitor started for %s", config.prometheus_url)

    def on_alert(self, alert: dict[str, Any]) -> None:
        """An alert from the monitor: the full alert as fireside/alert, and a message when it changes."""
        self._notify(protocol.ALERT_NOTIFICATION, alert)
        key = tuple(sorted((str(k), str(v)) for k, v in (alert.get("labels") or {}).items()))
        status = str(alert.get("status", "firing"))
        if self._alert_status.get(key) == status:
            return  # the same alert re-sent while it fires: the user has been told
        self._alert_status[key] = status
        if status == "resolved":
            kind, prefix = types.MessageType.Info, "Resolved"
        else:
            kind = types.MessageType.Error if alert.get("severity") == "error" else types.MessageType.Warning
            prefix = "Anomaly"
        detail = alert.get("feature_description") or alert.get("summary") or ""
        self._show(kind, f"Fireside {prefix}: {alert.get('summary', '')} — {detail}")

    def on_monitor_status(self, text: str) -> None:
        logger.info("monitor: %s", text)

    # ----- the end of the session ------------------------------------------------------------
    async def close_session(self) -> None:
        """Stop everything this client's session started: model requests and the model worker, the
        workspace and models-directory watchers (and a validation in progress), the monitor child,
        pending prefetches. Idempotent: called on ``shutdown`` and again when the connection ends."""
        if self._session_closed:
            return
        self._session_closed = True
        for task in [*self._pause_tasks.values(), *([self._loading] if self._loading else [])]:
            task.cancel()
        self._pause_tasks.clear()
        guarded_sync("completions", self.completions.shutdown)
        if self.models is not None:
            guarded_sync("models", self.models.stop)
        if self.monitor is not None:
            await guarded("monitor", lambda: None, self.monitor.stop())
        if self.watcher is not None:
            guarded_sync("watcher", self.watcher.stop)
        for closer in self.session_closers:
            try:
                result = closer()
                if result is not None:
                    await result
            except Exception:
                logger.exception("closing the session: %r failed", closer)

    # ----- prefetch -----------------------------------------------------------------------------
    def prefetch_at(self, uri: str, offset: int) -> None:
        document = self.documents.get(uri)
        if document is None or self.completions.engine is None or not self._completes_in(document, tell=False):
            return
        self.completions.prefetch(convert.completion_request(document, offset, self.config, self.root), self.config)

    def schedule_pause_prefetch(self, uri: str, offset: int) -> None:
        """After PAUSE_MS without a keystroke, prefetch where the user stopped typing."""
        previous = self._pause_tasks.pop(uri, None)
        if previous is not None:
            previous.cancel()

        async def wait_for_pause() -> None:
            await asyncio.sleep(PAUSE_MS / 1000)
            self._pause_tasks.pop(uri, None)
            self.prefetch_at(uri, offset)

        self._pause_tasks[uri] = asyncio.ensure_future(wait_for_pause())


async def guarded(feature: str, empty: Callable[[], T], work: Awaitable[T]) -> T:
    """Run one feature's work; any failure is logged and answered with an empty result."""
    try:
        return await work
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("%s failed; answering with an empty result", feature)
        return empty()


def guarded_sync(feature: str, work: Callable[[], object]) -> None:
    """``guarded`` for synchronous work."""
    try:
        work()
    except Exception:
        logger.exception("%s failed", feature)


def create_server(engine_factory: EngineFactory, cli_settings: Mapping[str, Any] | None = None) -> FiresideServer:
    server = FiresideServer(engine_factory, cli_settings)

    @server.feature(types.INITIALIZE)
    def on_initialize(ls: FiresideServer, params: types.InitializeParams) -> None:
        root = params.root_uri or (params.workspace_folders[0].uri if params.workspace_folders else None)
        ls.root = convert.uri_to_path(root) if root else (Path(params.root_path) if params.root_path else None)
        for problem in ls._startup_problems:
            ls.tell_once(f"config:{problem}", f"Fireside: invalid command-line setting: {problem}.")
        options = params.initialization_options
        if isinstance(options, Mapping):
            # The TCP/WS transports check and remove it; a stdio client may send it too: it is no setting.
            options = {key: value for key, value in options.items() if key != AUTH_TOKEN_OPTION}
            if isinstance(options.get("fireside"), Mapping):
                options = options["fireside"]
        ls.apply_settings(options, "initializationOptions")

    @server.feature(types.INITIALIZED)
    async def on_initialized(ls: FiresideServer, params: types.InitializedParams) -> None:
        if ls.root is not None and ls.root.is_dir() and not ls._session_closed:
            ls.completions.workspace_root = str(ls.root)
            ls.watcher = WorkspaceWatcher(ls.root, ls.index)
            ls.watcher.start()  # its own thread: indexing never delays a completion
        await ls.start_loading(pull_configuration=True)
        await guarded("monitor", lambda: None, ls.sync_monitor())

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def on_configuration(ls: FiresideServer, params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, Mapping) and isinstance(settings.get("fireside"), Mapping):
            reload = ls.apply_settings(settings["fireside"], "settings")
        elif isinstance(settings, Mapping) and settings:
            reload = ls.apply_settings(settings, "settings")
        else:
            reload = await ls.pull_configuration()  # the pull model: settings is null
        if reload or ls.config.models_dir != ls._models_dir:
            await ls.start_loading()
        await guarded("monitor", lambda: None, ls.sync_monitor())

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def on_open(ls: FiresideServer, params: types.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        ls.documents.open(item.uri, item.language_id, item.version, item.text)
        if (path := uri_to_path(item.uri)) is not None:
            ls.index.set_open(str(path), True)
            ls.index.update_text(str(path), item.text)
        # Prefetch at the end of the file, where new code is usually written.
        ls.prefetch_at(item.uri, len(item.text.rstrip()))

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def on_change(ls: FiresideServer, params: types.DidChangeTextDocumentParams) -> None:
        document = ls.documents.get(params.text_document.uri)
        if document is None:
            logger.warning("didChange for a document that is not open: %s", params.text_document.uri)
            return
        if params.text_document.version <= document.version:
            logger.warning(
                "stale didChange for %s (version %s, have %s); ignored",
                document.uri, params.text_document.version, document.version,
            )
            return
        encoding = ls.encoding
        cursor: int | None = None
        for change in params.content_changes:
            if isinstance(change, types.TextDocumentContentChangePartial):
                start = convert.to_position(change.range.start)
                document.apply_change(start, convert.to_position(change.range.end), change.text, encoding)
                begin = document.offset_at(start, encoding, clamp=True)
                cursor = None if begin is None else begin + len(change.text)
            else:
                document.replace_all(change.text)
                cursor = None
        if cursor is not None:
            ls.schedule_pause_prefetch(document.uri, cursor)
        document.version = params.text_document.version
        ls.completions.supersede(document.uri)
        if (path := uri_to_path(document.uri)) is not None:
            ls.index.update_text(str(path), document.text)  # parsed lazily, when another file needs it

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def on_close(ls: FiresideServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.completions.close(params.text_document.uri)
        ls.documents.close(params.text_document.uri)
        if (task := ls._pause_tasks.pop(params.text_document.uri, None)) is not None:
            task.cancel()
        if (path := uri_to_path(params.text_document.uri)) is not None:
            ls.index.set_open(str(path), False)
            ls.index.update_from_disk(path)  # the disk is the truth again (unsaved edits are gone)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(ls: FiresideServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
        async def work() -> types.InlineCompletionList:
            result = await ls.complete_at(params.text_document.uri, params.position)
            return convert.inline_completion_list(result[2] if result else None, params.position)

        return await guarded("inlineCompletion", lambda: types.InlineCompletionList(items=[]), work())

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=COMPLETION_TRIGGERS, resolve_provider=False),
    )
    async def completion(ls: FiresideServer, params: types.CompletionParams) -> types.CompletionList:
        async def work() -> types.CompletionList:
            result = await ls.complete_at(params.text_document.uri, params.position)
            if result is None:
                return types.CompletionList(is_incomplete=True, items=[])
            document, offset, found = result
            return convert.completion_list(found, document, offset, params.position, ls.encoding)

        return await guarded("completion", lambda: types.CompletionList(is_incomplete=True, items=[]), work())

    @server.feature(protocol.DOCUMENT_INFO_REQUEST)
    def document_info(ls: FiresideServer, params: Any) -> dict[str, Any] | None:
        uri = _uri_of(params)
        document = ls.documents.get(uri) if uri else None
        if document is None:
            return None
        return {
            "uri": document.uri,
            "version": document.version,
            "length": len(document.text),
            "lineCount": document.line_count,
            "sha256": hashlib.sha256(document.text.encode("utf-8", "surrogatepass")).hexdigest(),
        }

    @server.feature(types.SHUTDOWN)
    async def on_shutdown(ls: FiresideServer, params: Any) -> None:
        await ls.close_session()

    from fireside.lsp import code_actions

    code_actions.register(server)
    return server


def _uri_of(params: Any) -> str | None:
    """The document URI of a custom request's params (pygls hands those over as namedtuples)."""
    if isinstance(params, Mapping):
        document = params.get("textDocument")
    else:
        document = getattr(params, "textDocument", None) or getattr(params, "text_document", None)
    uri = document.get("uri") if isinstance(document, Mapping) else getattr(document, "uri", None)
    return uri if isinstance(uri, str) else None
