"""Code actions: "Generate Hypothesis tests for NAME" on a function or class.

Listing is instant (a parse of the buffer); the work — generating and verifying the tests — runs
in ``codeAction/resolve``, off the event loop, reporting ``$/progress``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from lsprotocol import types

from fireside.documents import Document, uri_to_path
from fireside.lsp.server import FiresideServer, guarded

logger = logging.getLogger(__name__)

GENERATE_TESTS_KIND = "source.fireside.generateTests"
MODEL_ANSWER_SECONDS = 60.0


def symbol_at(text: str, line: int) -> str | None:
    """The innermost function or class at 0-based ``line`` (None if none, or the file does not parse)."""
    from fireside.testgen.analysis import ClassInfo, analyse_source

    try:
        symbol = analyse_source(text).symbol_at(line + 1)
    except SyntaxError:
        return None
    if symbol is None:
        return None
    return symbol.name if isinstance(symbol, ClassInfo) else symbol.qualname


class WorkerTextGenerator:
    """Lets test generation (on its own thread) ask the server's model, on the model's thread."""

    def __init__(self, server: FiresideServer, loop: asyncio.AbstractEventLoop) -> None:
        self._server = server
        self._loop = loop

    def generate(self, prompt: str, *, max_tokens: int, stop: Sequence[str] = ()) -> str:
        async def ask() -> str:
            return await self._server.completions.run_on_worker(
                lambda engine: engine.generate(prompt, max_tokens=max_tokens, stop=stop)
            )  # type: ignore[return-value]

        try:
            return asyncio.run_coroutine_threadsafe(ask(), self._loop).result(MODEL_ANSWER_SECONDS)
        except Exception as error:  # no model, or it failed: the parameter stays unresolved
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


def register(server: FiresideServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[GENERATE_TESTS_KIND], resolve_provider=True),
    )
    async def code_actions(ls: FiresideServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        async def work() -> list[types.CodeAction]:
            document = ls.documents.get(params.text_document.uri)
            if document is None or document.language_id != "python" or uri_to_path(document.uri) is None:
                return []
            if len(document.text) > ls.config.max_file_size or "\x00" in document.text:
                return []
            name = symbol_at(document.text, params.range.start.line)
            if name is None:
                return []
            return [
                types.CodeAction(
                    title=f"Generate Hypothesis tests for {name}",
                    kind=GENERATE_TESTS_KIND,
                    data={"uri": document.uri, "line": params.range.start.line, "name": name},
                )
            ]

        return await guarded("codeAction", list, work())

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve(ls: FiresideServer, action: types.CodeAction) -> types.CodeAction:
        async def work() -> types.CodeAction:
            from fireside.testgen.pipeline import Options, plan_tests_for_symbol

            uri, line, name = _field(action.data, "uri"), _field(action.data, "line"), _field(action.data, "name")
            document = ls.documents.get(uri) if isinstance(uri, str) else None
            path = uri_to_path(uri) if isinstance(uri, str) else None
            if document is None or path is None or not isinstance(line, int):
                return action
            loop = asyncio.get_running_loop()
            progress = await _start_progress(ls, f"Generating Hypothesis tests for {name}")

            def report(stage: str, done: int, total: int | None) -> None:
                if progress is not None:
                    percentage = int(100 * done / total) if total else None
                    loop.call_soon_threadsafe(
                        ls.work_done_progress.report,
                        progress,
                        types.WorkDoneProgressReport(message=f"{stage} {done}/{total or '?'}", percentage=percentage),
                    )

            options = Options(generator=WorkerTextGenerator(ls, loop) if ls.completions.engine is not None else None)
            try:
                plan = await asyncio.to_thread(plan_tests_for_symbol, path, document.text, line, None, report, options=options)
            finally:
                if progress is not None:
                    ls.work_done_progress.end(progress, types.WorkDoneProgressEnd(message="done"))
            action.edit = test_file_edit(plan, ls.encoding)
            ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=f"Fireside: {plan.summary}"))
            return action

        return await guarded("codeAction/resolve", lambda: action, work())


async def _start_progress(ls: FiresideServer, title: str) -> str | None:
    window = ls.client_capabilities.window
    if not (window and window.work_done_progress):
        return None
    token = str(uuid.uuid4())
    try:
        await asyncio.wait_for(ls.work_done_progress.create_async(token), 5)
    except Exception:
        return None
    ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=title, percentage=0, cancellable=False))
    return token
