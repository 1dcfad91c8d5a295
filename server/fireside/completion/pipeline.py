"""One completion, start to finish: syntax at the cursor → prompt → generation → clean-up."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from fireside.completion.engine import Engine
from fireside.completion.guidance import NameGuide
from fireside.completion.healing import after_typed, healed_stop, trailing_whitespace
from fireside.completion.postprocess import CursorLine, finalize
from fireside.completion.stopping import SyntaxAwareStop
from fireside.completion.prompt import PromptContext, build_prompt
from fireside.completion.types import Completion, CompletionRequest, StopReason
from fireside.context.index import WorkspaceIndex
from fireside.context.languages import language_for, line_comment_for
from fireside.context.text_style import INDENTED
from fireside.context.syntax import analyse_cursor
from fireside.context.trees import CompletionSplice, DocumentTrees, keep_parseable, reparse, trim_to_block
from fireside.documents import uri_to_path

logger = logging.getLogger(__name__)

SINGLE_LINE_MAX_TOKENS = 48  # a one-line completion never needs more; stops a runaway line early
GENERATION_RESERVE = 8


def complete(
    engine: Engine,
    request: CompletionRequest,
    *,
    max_prompt_tokens: int,
    context_size: int,
    cancelled: Callable[[], bool],
    features: frozenset[str] = frozenset({"imports", "scopes", "syntax-check", "typing-layout"}),
    index: WorkspaceIndex | None = None,
    workspace_root: str = "",
    trees: DocumentTrees | None = None,
    heal: bool = True,
    guide: NameGuide | None = None,
) -> Completion:
    spec = language_for(request.language_id, request.uri)
    syntax = splice = None
    if spec is not None:
        if trees is not None:
            parsed = trees.parse(spec, request.uri, request.text)
        else:
            parsed = reparse(spec, None, request.text.encode("utf-8", "surrogatepass"))
        syntax = analyse_cursor(spec, request.text, request.offset, parsed.tree)
        if "syntax-check" in features:
            splice = CompletionSplice(spec, parsed, request.offset, request.text)
    cursor = CursorLine.from_text(request.text, request.offset, spec.style if spec else INDENTED)
    if syntax is not None:
        multiline = syntax.wants_multiline
    else:
        multiline = not cursor.after.strip() and not cursor.before.strip()
    max_tokens = request.max_tokens if multiline else min(request.max_tokens, SINGLE_LINE_MAX_TOKENS)
    budget = max(16, min(max_prompt_tokens, context_size - max_tokens - GENERATION_RESERVE))
    path = uri_to_path(request.uri)
    # Definitions come from files of the same language family; a language without a grammar gets none.
    family = spec.definitions_family if spec else None
    context = PromptContext(
        features=features if index is not None and spec is not None else features - {"definitions"},
        imports=syntax.imports if syntax else (),
        definitions_for=(
            (lambda names: index.lookup(names, exclude_path=str(path) if path else None, family=family))
            if index and spec
            else (lambda names: [])
        ),
        workspace_root=workspace_root,
    )
    # The whitespace before the cursor is left out of the prompt and typed again by the model
    # (``fireside.completion.healing``): a prompt ending in it ends on an unusual token boundary.
    typed = trailing_whitespace(request.prefix) if heal else ""
    prompt_request = request
    if typed:
        cut = request.offset - len(typed)
        prompt_request = replace(request, text=request.text[:cut] + request.suffix, offset=cut)
    prompt = build_prompt(
        prompt_request,
        engine,
        budget_tokens=budget,
        fim=engine.info.fim,
        syntax=syntax,
        comment=line_comment_for(request.language_id, spec),
        context=context,
    )
    stop = healed_stop(SyntaxAwareStop(cursor, multiline, splice), typed)
    started = time.perf_counter()
    first_token = True

    def stop_at(text: str) -> int | None:
        nonlocal first_token
        if first_token:  # the time to the first token; tests also wait for this line ("still generating")
            first_token = False
            logger.debug("first token of %s after %.0f ms", request.uri, (time.perf_counter() - started) * 1000)
        return stop(text)

    guided = {}
    if guide is not None and getattr(engine, "supports_guidance", False):
        # The guide reads names in the prompt's text before the cursor, then what the model writes.
        guided["guide"] = replace(guide, lead=guide.lead[: len(guide.lead) - len(typed)]) if typed else guide
    generation = engine.run(prompt.tokens, max_tokens=max_tokens, stop_at=stop_at, cancelled=cancelled, **guided)
    generated = after_typed(generation.text, typed) or ""
    if multiline and generation.stopped_by == StopReason.LIMIT and "\n" in generated.rstrip("\n"):
        # The token limit came mid-line: offer the whole lines before it, not half a statement.
        generated = generated[: generated.rstrip("\n").rfind("\n")]
    text = "" if generation.stopped_by == StopReason.CANCELLED else finalize(generated, cursor, multiline)
    if text and splice is not None:
        # Like the stop rule, the block check is for multi-line completions: a one-line one that closes
        # `}` mid-line (`{"a", true},`) closes what its own line opened.
        checked = keep_parseable(splice, trim_to_block(splice, text) if multiline else text)
        if not checked and cursor.style.block_closer and "\n" not in text.strip() and text.rstrip().endswith("{"):
            # `if (x) {` above a body the file keeps without braces: the offer without its lone `{`.
            checked = keep_parseable(splice, text.rstrip()[:-1].rstrip())
        text = checked
    return Completion(
        text=text,
        multiline=multiline,
        prompt_tokens=generation.prompt_tokens,
        reused_tokens=generation.reused_tokens,
        generated_tokens=generation.generated_tokens,
        stopped_by=generation.stopped_by,
        model_ms=generation.seconds * 1000,
        guided_changes=generation.guided_changes,
    )
