"""The Fireside language server's core: the session's shared state (settings, open documents, the workspace
index, the completion service) and the handlers of the session itself (initialize, settings, document
sync, shutdown). Everything else is a feature (``fireside.lsp.feature.LanguageFeature``) handed over by
the composition root (``fireside.lsp.app``): the server calls their hooks in order, each guarded, and
needs no list of its parts (the features are the list).

Handlers are thin: lsprotocol params → domain → pure function → result. Every feature is wrapped so that
its failure is logged and answered with an empty result; the server keeps serving.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import is_dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from fireside import __version__, protocol
from fireside.addresses import may_carry_secret
from fireside.completion.service import CompletionService, EngineFactory
from fireside.config import FiresideConfig, merge_config, without_restricted
from fireside.context.index import WorkspaceIndex
from fireside.context.workspace import WorkspaceWatcher
from fireside.documents import DocumentStore, uri_to_path
from fireside.logs import set_level
from fireside.lsp import convert
from fireside.lsp.auth import AUTH_TOKEN_OPTION
from fireside.lsp.feature import LanguageFeature, guarded, guarded_sync
from fireside.lsp.jsonrpc import FiresideProtocol

logger = logging.getLogger(__name__)

CONFIG_PULL_SECONDS = 5.0


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
        self.completions = CompletionService(engine_factory, self.index)  # the model thread, shared by features
        self.watcher: WorkspaceWatcher | None = None
        self.root: Path | None = None
        self.features: list[LanguageFeature] = []
        self._told: set[str] = set()
        self._session_closed = False
        _register_session_handlers(self)

    def use(self, features: Sequence[LanguageFeature]) -> None:
        """Take the features (in the order their hooks run) and register their handlers."""
        for feature in features:
            feature.register(self)
            self.features.append(feature)

    @property
    def session_closed(self) -> bool:
        return self._session_closed

    # ----- calling the features' hooks -------------------------------------------------------
    def each(self, hook: str, *args: Any) -> None:
        for feature in self.features:
            guarded_sync(f"{feature.name}.{hook}", lambda feature=feature: getattr(feature, hook)(*args))

    async def each_async(self, hook: str) -> None:
        for feature in self.features:
            await guarded(f"{feature.name}.{hook}", lambda: None, getattr(feature, hook)())

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
    def apply_settings(self, raw: Any, source: str) -> None:
        """Apply editor settings (the features hear of it through ``configuration_changed``).

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

    async def pull_configuration(self) -> None:
        """Ask the client for section "fireside" (workspace/configuration) and apply the answer."""
        capabilities = self.client_capabilities.workspace
        if not (capabilities and capabilities.configuration):
            return
        try:
            result = await asyncio.wait_for(
                self.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section="fireside")])
                ),
                CONFIG_PULL_SECONDS,
            )
        except Exception as error:
            logger.info("workspace/configuration not answered: %s", error)
            return
        if result and isinstance(result[0], Mapping):
            self.apply_settings(result[0], "workspace/configuration")

    def notify(self, method: str, payload: Any) -> None:
        """Send a custom notification (``fireside.protocol``): a payload dataclass, turned into wire JSON here."""
        try:
            self.protocol.notify(method, protocol.to_wire(payload) if is_dataclass(payload) else payload)
        except Exception:
            logger.debug("could not send %s", method, exc_info=True)

    def show(self, kind: types.MessageType, message: str) -> None:
        logger.info("%s", message)
        self._send_message(kind, message)

    @property
    def encoding(self) -> convert.Encoding:
        return convert.encoding_of(self.workspace.position_encoding)

    # ----- the end of the session ------------------------------------------------------------
    async def close_session(self) -> None:
        """Stop everything this client's session started: each feature's work (model requests and the
        model worker, the models-directory watcher and a validation in progress, the monitor child,
        pending prefetches), then the workspace watcher. Idempotent: called on ``shutdown`` and again
        when the connection ends."""
        if self._session_closed:
            return
        self._session_closed = True
        await self.each_async("shutdown")
        if self.watcher is not None:
            guarded_sync("watcher", self.watcher.stop)


def _register_session_handlers(server: FiresideServer) -> None:
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
        ls.each("initialize", params)

    @server.feature(types.INITIALIZED)
    async def on_initialized(ls: FiresideServer, params: types.InitializedParams) -> None:
        if ls.root is not None and ls.root.is_dir() and not ls.session_closed:
            ls.completions.workspace_root = str(ls.root)
            ls.watcher = WorkspaceWatcher(ls.root, ls.index)
            ls.watcher.start()  # its own thread: indexing never delays a completion
        await ls.each_async("initialized")

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def on_configuration(ls: FiresideServer, params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, Mapping) and isinstance(settings.get("fireside"), Mapping):
            ls.apply_settings(settings["fireside"], "settings")
        elif isinstance(settings, Mapping) and settings:
            ls.apply_settings(settings, "settings")
        else:
            await ls.pull_configuration()  # the pull model: settings is null
        await ls.each_async("configuration_changed")

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def on_open(ls: FiresideServer, params: types.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        document = ls.documents.open(item.uri, item.language_id, item.version, item.text)
        if (path := uri_to_path(item.uri)) is not None:
            ls.index.set_open(str(path), True)
            ls.index.update_text(str(path), item.text)
        ls.each("document_opened", document)

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
        cursor = convert.apply_changes(document, params.content_changes, ls.encoding)
        document.version = params.text_document.version
        if (path := uri_to_path(document.uri)) is not None:
            ls.index.update_text(str(path), document.text)  # parsed lazily, when another file needs it
        ls.each("document_changed", document, cursor)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def on_close(ls: FiresideServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.each("document_closed", uri)
        ls.documents.close(uri)
        if (path := uri_to_path(uri)) is not None:
            ls.index.set_open(str(path), False)
            ls.index.update_from_disk(path)  # the disk is the truth again (unsaved edits are gone)

    @server.feature(protocol.DOCUMENT_INFO_REQUEST)
    def document_info(ls: FiresideServer, params: Any) -> dict[str, Any] | None:
        try:
            asked = protocol.from_wire(protocol.DocumentInfoParams, params)
        except protocol.PayloadError as error:
            logger.info("%s: %s", protocol.DOCUMENT_INFO_REQUEST, error)
            return None
        document = ls.documents.get(asked.text_document.uri)
        if document is None:
            return None
        return protocol.to_wire(
            protocol.DocumentInfo(
                uri=document.uri,
                version=document.version,
                length=len(document.text),
                line_count=document.line_count,
                sha256=hashlib.sha256(document.text.encode("utf-8", "surrogatepass")).hexdigest(),
            )
        )

    @server.feature(types.SHUTDOWN)
    async def on_shutdown(ls: FiresideServer, params: Any) -> None:
        await ls.close_session()
