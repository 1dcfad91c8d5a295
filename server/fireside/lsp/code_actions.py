"""Code actions: "Generate Hypothesis tests for NAME", "Write docstring", "Add type hints", "Complete
function body" on a function or class, and a quick fix for each diagnostic the client sends.

Listing is instant (a parse of the buffer, no model); the work runs in ``codeAction/resolve``, off the
event loop, reporting ``$/progress``. The model actions (``fireside.actions``) check every edit before it
is offered; a dropped one is answered without an edit, with ``disabled`` and a message saying why. A
cancelled resolve (``$/cancelRequest``, or cancelling its progress) stops the model at the next token.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types

from fireside.actions import catalog
from fireside.actions.model import Cancelled, generate_with_engine
from fireside.actions.quick_fix import Diagnostic, module_name
from fireside.actions.validate import Edit
from fireside.documents import Document, uri_to_path
from fireside.lsp import convert
from fireside.lsp.server import FiresideServer, guarded

logger = logging.getLogger(__name__)

GENERATE_TESTS_KIND = "source.fireside.generateTests"
ACTION_KINDS = {
    catalog.DOCSTRING: "refactor.rewrite.fireside.docstring",
    catalog.TYPE_HINTS: "refactor.rewrite.fireside.typeHints",
    catalog.BODY: "refactor.rewrite.fireside.completeBody",
    catalog.QUICK_FIX: types.CodeActionKind.QuickFix.value,
}
ADVERTISED_KINDS = [GENERATE_TESTS_KIND, *ACTION_KINDS.values()]
MODEL_ANSWER_SECONDS = 60.0
ACTION_GENERATION_SECONDS = 180.0  # one generation of an action (a body: up to 160 tokens, on a busy machine)
MAX_WORKSPACE_FILES = 500
MAX_WORKSPACE_FILE_BYTES = 1_000_000


@functools.lru_cache(maxsize=4)
def _analysed(text: str) -> Any:
    """The testgen analysis of a buffer, kept for its text: editors ask for code actions on every
    cursor move, and re-analysing an unchanged buffer each time cost ~90 ms on a 550-line file."""
    from fireside.testgen.analysis import analyse_source

    try:
        return analyse_source(text)
    except SyntaxError:
        return None


def symbol_at(text: str, line: int) -> str | None:
    """The innermost function or class at 0-based ``line`` (None if none, or the file does not parse)."""
    from fireside.testgen.analysis import ClassInfo

    module = _analysed(text)
    symbol = module.symbol_at(line + 1) if module is not None else None
    if symbol is None:
        return None
    return symbol.name if isinstance(symbol, ClassInfo) else symbol.qualname


class WorkerModel:
    """The model for one action resolve: each generation runs on the model's thread and stops at the
    next token once ``cancel`` is set (raising :class:`Cancelled`)."""

    def __init__(
        self,
        server: FiresideServer,
        loop: asyncio.AbstractEventLoop,
        cancel: threading.Event,
        on_generation: Any = None,
        *,
        timeout: float = ACTION_GENERATION_SECONDS,
    ) -> None:
        self._server = server
        self._timeout = timeout
        self._loop = loop
        self._cancel = cancel
        self._on_generation = on_generation
        self.generations = 0

    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str:
        if self._cancel.is_set():
            raise Cancelled("cancelled")
        self.generations += 1
        if self._on_generation is not None:
            self._on_generation(self.generations)
        cancelled = self._cancel.is_set

        async def ask() -> str:
            self._server.completions.cancel_prefetches()  # a prefetch must not make the user wait
            return await self._server.completions.run_on_worker(
                lambda engine: generate_with_engine(engine, prompt, max_tokens=max_tokens, stop=stop, cancelled=cancelled)
            )  # type: ignore[return-value]

        try:
            return asyncio.run_coroutine_threadsafe(ask(), self._loop).result(self._timeout)
        except Cancelled:
            logger.info("code action cancelled: the model stopped during generation %d", self.generations)
            raise


class AnswerOrNothing:
    """Test generation's view of the model: a failed or timed-out answer is no answer (the parameter
    it was asked about keeps its generic strategy), never an error."""

    def __init__(self, model: WorkerModel) -> None:
        self._model = model

    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str:
        try:
            return self._model.generate(prompt, max_tokens=max_tokens, stop=stop)
        except Exception as error:  # no model, or it failed
            logger.info("model not asked for a type: %s", error)
            return ""


def _field(data: Any, name: str) -> Any:
    return data.get(name) if isinstance(data, Mapping) else getattr(data, name, None)


def test_file_edit(plan: Any, encoding: str) -> types.WorkspaceEdit:
    """CreateFile + TextDocumentEdit for a new test file; a whole-file TextDocumentEdit for an existing one."""
    uri = plan.path.resolve().as_uri()
    identifier = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None)
    if plan.existed and plan.old_text is not None:
        old = Document(uri, "python", 0, plan.old_text)
        end = old.position_at(len(plan.old_text), encoding)  # type: ignore[arg-type]
        whole = types.Range(types.Position(0, 0), types.Position(end.line, end.character))
        return types.WorkspaceEdit(
            document_changes=[types.TextDocumentEdit(text_document=identifier, edits=[types.TextEdit(whole, plan.new_text)])]
        )
    return types.WorkspaceEdit(
        document_changes=[
            types.CreateFile(uri=uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=True)),
            types.TextDocumentEdit(
                text_document=identifier,
                edits=[types.TextEdit(types.Range(types.Position(0, 0), types.Position(0, 0)), plan.new_text)],
            ),
        ]
    )


def _diagnostic(document: Document, diagnostic: types.Diagnostic, encoding: convert.Encoding) -> Diagnostic:
    start = document.offset_at(convert.to_position(diagnostic.range.start), encoding, clamp=True) or 0
    end = document.offset_at(convert.to_position(diagnostic.range.end), encoding, clamp=True) or start
    return Diagnostic(str(diagnostic.message), start, max(start, end), diagnostic.range.start.line)


def _diagnostic_data(diagnostic: types.Diagnostic) -> dict[str, Any]:
    r = diagnostic.range
    return {
        "message": str(diagnostic.message),
        "range": [r.start.line, r.start.character, r.end.line, r.end.character],
    }


def _diagnostic_from_data(data: Any) -> types.Diagnostic | None:
    message, numbers = _field(data, "message"), _field(data, "range")
    if not isinstance(message, str) or not isinstance(numbers, list) or len(numbers) != 4:
        return None
    if not all(isinstance(n, int) and n >= 0 for n in numbers):
        return None
    a, b, c, d = numbers
    return types.Diagnostic(types.Range(types.Position(a, b), types.Position(c, d)), message)


def _wanted(only: Sequence[str] | None, kind: str) -> bool:
    """The client's ``context.only`` filter: a kind is wanted when it equals or refines a listed one."""
    return not only or any(kind == base or kind.startswith(base + ".") for base in only)


def workspace_for(ls: FiresideServer, current_path: str) -> catalog.Workspace:
    """What the actions may look up: the workspace index's definitions and the indexed files (read from disk,
    on the action's thread)."""
    root = ls.root

    def sources() -> list[tuple[str, str]]:
        found = []
        for path in ls.index.paths()[:MAX_WORKSPACE_FILES]:
            if path == current_path or not path.endswith(".py"):
                continue
            try:
                if Path(path).stat().st_size <= MAX_WORKSPACE_FILE_BYTES:
                    found.append((path, Path(path).read_text(encoding="utf-8", errors="replace")))
            except OSError:
                continue
        return found

    def modules(name: str) -> dict[str, str]:
        if root is None:
            return {}
        for definition in ls.index.lookup([name], exclude_path=current_path):
            module = module_name(Path(definition.path), root)
            if module is not None:
                return {name: module}
        return {}

    def stubs(names: list[str]) -> list[str]:
        return [definition.stub for definition in ls.index.lookup(names, exclude_path=current_path)]

    return catalog.Workspace(sources, modules, stubs)


def text_edit(document: Document, edit: Edit, encoding: convert.Encoding) -> types.WorkspaceEdit:
    start = document.position_at(edit.start, encoding)
    end = document.position_at(edit.end, encoding)
    identifier = types.OptionalVersionedTextDocumentIdentifier(uri=document.uri, version=document.version)
    change = types.TextEdit(
        types.Range(types.Position(start.line, start.character), types.Position(end.line, end.character)), edit.new_text
    )
    return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=identifier, edits=[change])])


def register(server: FiresideServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=ADVERTISED_KINDS, resolve_provider=True),
    )
    async def code_actions(ls: FiresideServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        async def work() -> list[types.CodeAction]:
            document = ls.documents.get(params.text_document.uri)
            if document is None or document.language_id != "python" or uri_to_path(document.uri) is None:
                return []
            if len(document.text) > ls.config.max_file_size or "\x00" in document.text:
                return []
            only = [getattr(kind, "value", kind) for kind in params.context.only] if params.context.only else None
            line = params.range.start.line
            base = {"uri": document.uri, "line": line, "version": document.version}
            found: list[types.CodeAction] = []
            name = symbol_at(document.text, line) if _wanted(only, GENERATE_TESTS_KIND) else None
            if name is not None:
                found.append(
                    types.CodeAction(
                        title=f"Generate Hypothesis tests for {name}",
                        kind=GENERATE_TESTS_KIND,
                        data={"uri": document.uri, "line": line, "name": name},
                    )
                )
            for offer in catalog.offers(document.text, line):
                if _wanted(only, ACTION_KINDS[offer.action]):
                    found.append(
                        types.CodeAction(
                            title=offer.title,
                            kind=ACTION_KINDS[offer.action],
                            data={**base, "action": offer.action, "name": offer.name},
                        )
                    )
            if _wanted(only, ACTION_KINDS[catalog.QUICK_FIX]):
                for diagnostic in params.context.diagnostics or []:
                    offer = catalog.fix_offer(_diagnostic(document, diagnostic, ls.encoding))
                    found.append(
                        types.CodeAction(
                            title=offer.title,
                            kind=ACTION_KINDS[catalog.QUICK_FIX],
                            diagnostics=[diagnostic],
                            data={**base, "line": diagnostic.range.start.line, "action": offer.action,
                                  "diagnostic": _diagnostic_data(diagnostic)},
                        )
                    )
            return found

        return await guarded("codeAction", list, work())

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve(ls: FiresideServer, action: types.CodeAction) -> types.CodeAction:
        if _field(action.data, "action") in catalog.ACTIONS:
            return await guarded("codeAction/resolve", lambda: action, resolve_model_action(ls, action))
        return await guarded("codeAction/resolve", lambda: action, resolve_tests(ls, action))


def _still_offered(text: str, line: int, kind: str, data: Any) -> bool:
    """After an edit: does the same action still apply to the same function at that line? (A diagnostic's
    range is not tracked through edits, so a quick fix listed before an edit is not.)"""
    if kind == catalog.QUICK_FIX:
        return False
    return any(offer.action == kind and offer.name == _field(data, "name") for offer in catalog.offers(text, line))


def _drop(ls: FiresideServer, action: types.CodeAction, reason: str) -> types.CodeAction:
    """The action comes back without an edit, saying why (clients show ``disabled`` or the message)."""
    action.disabled = types.CodeActionDisabled(reason=reason)
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=f"Fireside: {action.title}: {reason}"))
    return action


async def resolve_model_action(ls: FiresideServer, action: types.CodeAction) -> types.CodeAction:
    kind, uri, line = _field(action.data, "action"), _field(action.data, "uri"), _field(action.data, "line")
    document = ls.documents.get(uri) if isinstance(uri, str) else None
    path = uri_to_path(uri) if isinstance(uri, str) else None
    if document is None or path is None or not isinstance(line, int):
        return _drop(ls, action, "the document is not open")
    if _field(action.data, "version") != document.version and not _still_offered(document.text, line, kind, action.data):
        return _drop(ls, action, "the code changed since the action was listed; ask again")
    diagnostic = None
    if kind == catalog.QUICK_FIX:
        sent = _diagnostic_from_data(_field(action.data, "diagnostic"))
        if sent is None:
            return _drop(ls, action, "the diagnostic is missing")
        diagnostic = _diagnostic(document, sent, ls.encoding)
    if not await ls.model_ready():
        return _drop(ls, action, f"no model ({ls.completions.status.message or 'not loaded'})")
    text, version = document.text, document.version
    loop = asyncio.get_running_loop()
    cancel = threading.Event()
    progress = await _start_progress(ls, action.title, cancellable=True)
    if progress is not None and (token := ls.work_done_progress.tokens.get(progress)) is not None:
        token.add_done_callback(lambda future: cancel.set() if future.cancelled() else None)

    report = _reporter(ls, loop, progress)
    model = WorkerModel(ls, loop, cancel, lambda generation: report(f"asking the model ({generation})"))
    workspace = workspace_for(ls, str(path))
    try:
        result = await asyncio.to_thread(catalog.run_action, kind, text, line, model, workspace, diagnostic)
    except asyncio.CancelledError:
        cancel.set()  # $/cancelRequest: the model stops at its next token
        raise
    except Cancelled:
        return _drop(ls, action, "cancelled")
    except Exception as error:  # the model failed or timed out: say so, keep serving
        logger.exception("code action %s failed", kind)
        return _drop(ls, action, f"the model failed ({type(error).__name__}: {error})")
    finally:
        _end_progress(ls, progress)
    outcome = result.outcome
    logger.info(
        "code action %s: %s after %d attempt(s), %d generation(s) %s%s", kind,
        "edit" if outcome.edit is not None else "dropped", outcome.attempts, model.generations,
        result.detail, f" ({outcome.reason})" if outcome.reason else "",
    )
    if outcome.edit is None:
        return _drop(ls, action, outcome.reason or "nothing to change")
    if document.version != version or ls.documents.get(document.uri) is not document:
        return _drop(ls, action, "the document changed while the edit was written; ask again")
    action.edit = text_edit(document, outcome.edit, ls.encoding)
    return action


async def resolve_tests(ls: FiresideServer, action: types.CodeAction) -> types.CodeAction:
    from fireside.testgen.pipeline import Options, default_tests_dir, plan_tests_for_symbol

    uri, line, name = _field(action.data, "uri"), _field(action.data, "line"), _field(action.data, "name")
    document = ls.documents.get(uri) if isinstance(uri, str) else None
    path = uri_to_path(uri) if isinstance(uri, str) else None
    if document is None or path is None or not isinstance(line, int):
        return action
    loop = asyncio.get_running_loop()
    progress = await _start_progress(ls, f"Generating Hypothesis tests for {name}")
    report = _reporter(ls, loop, progress)

    def stage_done(stage: str, done: int, total: int | None) -> None:
        report(f"{stage} {done}/{total or '?'}", int(100 * done / total) if total else None)

    cancel = threading.Event()
    model = AnswerOrNothing(WorkerModel(ls, loop, cancel, timeout=MODEL_ANSWER_SECONDS))
    options = Options(generator=model if ls.completions.engine is not None else None)
    try:
        # The workspace folder, not the server's working directory (the editor may start it anywhere).
        tests_dir = default_tests_dir(path, ls.root)
        plan = await asyncio.to_thread(plan_tests_for_symbol, path, document.text, line, tests_dir, stage_done, options=options)
    except asyncio.CancelledError:
        cancel.set()  # $/cancelRequest: the thread finishes without asking the model again
        raise
    except Exception as error:  # e.g. the buffer no longer parses, or nothing to test at that line
        logger.exception("generating tests for %s failed", name)
        return _drop(ls, action, f"{type(error).__name__}: {error}")
    finally:
        _end_progress(ls, progress)
    action.edit = test_file_edit(plan, ls.encoding)
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=f"Fireside: {plan.summary}"))
    return action


def _reporter(ls: FiresideServer, loop: asyncio.AbstractEventLoop, progress: str | None) -> Callable[..., None]:
    """``report(message, percentage=None)`` for ``progress``, callable from the action's thread (a no-op
    when the client takes no progress)."""

    def report(message: str, percentage: int | None = None) -> None:
        if progress is not None:
            loop.call_soon_threadsafe(
                ls.work_done_progress.report, progress, types.WorkDoneProgressReport(message=message, percentage=percentage)
            )

    return report


def _end_progress(ls: FiresideServer, progress: str | None) -> None:
    if progress is not None:
        ls.work_done_progress.end(progress, types.WorkDoneProgressEnd(message="done"))


async def _start_progress(ls: FiresideServer, title: str, *, cancellable: bool = False) -> str | None:
    window = ls.client_capabilities.window
    if not (window and window.work_done_progress):
        return None
    token = str(uuid.uuid4())
    try:
        await asyncio.wait_for(ls.work_done_progress.create_async(token), 5)
    except Exception:
        return None
    ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=title, percentage=0, cancellable=cancellable))
    return token
