"""The prompt layout follows what a real GGUF's vocabulary offers: FIM and repository tokens are read by
llama.cpp from the file (tiny real models, written here), and the pipeline lays the prompt out for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from fireside.completion.engine import LlamaEngine
from fireside.completion.pipeline import complete
from fireside.completion.types import CompletionRequest
from fireside.context.index import WorkspaceIndex

from tests.support.tiny_models import FIM, REPOSITORY, write_tiny_gguf

OTHER = "def price_of(item):\n    return item.price\n"
CURRENT = "from prices import price_of\n\ntotal = price_of(item)\nvalue = \nprint(value)\n"


def _prompt_tokens(tmp_path: Path, special: tuple[str, ...]) -> tuple[list[int], LlamaEngine]:
    engine = LlamaEngine(write_tiny_gguf(tmp_path / "model.gguf", special=special, context_length=512), context_size=512, threads=1)
    index = WorkspaceIndex()
    index.update_text(str(tmp_path / "w" / "prices.py"), OTHER)
    seen: list[list[int]] = []
    run = engine.run

    def recording_run(tokens, **kwargs):  # noqa: ANN001, ANN003
        seen.append(list(tokens))
        return run(tokens, **kwargs)

    engine.run = recording_run  # type: ignore[method-assign]
    offset = CURRENT.index("value = ") + len("value = ")
    request = CompletionRequest((tmp_path / "w" / "main.py").as_uri(), "python", CURRENT, offset, 1, 4, "main.py")
    complete(engine, request, max_prompt_tokens=400, context_size=512, cancelled=lambda: False,
             features=frozenset({"definitions", "imports", "repo-format", "typing-layout"}), index=index, workspace_root=str(tmp_path / "w"))
    return seen[0], engine


def _id(engine: LlamaEngine, text: str) -> int:
    import llama_cpp

    data = text.encode()
    buffer = (llama_cpp.llama_token * 8)()
    count = llama_cpp.llama_tokenize(engine._vocab, data, len(data), buffer, 8, False, True)  # special tokens parsed
    assert count == 1, (text, count)
    return buffer[0]


def test_a_model_without_fim_gets_the_plain_prefix(tmp_path):
    tokens, engine = _prompt_tokens(tmp_path, ())
    assert engine.info.fim is None
    assert engine.tokenize("price_of")[0] in tokens  # the definitions, as text before the file


def test_a_fim_model_without_repository_tokens_gets_fim_with_comment_headers(tmp_path):
    tokens, engine = _prompt_tokens(tmp_path, FIM)
    fim = engine.info.fim
    assert fim is not None and not fim.repository
    assert tokens[len(engine.start_tokens)] == fim.prefix
    assert tokens.index(fim.prefix) < tokens.index(fim.suffix) < tokens.index(fim.middle)
    _assert_the_cursor_line_follows_the_middle(tokens, engine)


def _assert_the_cursor_line_follows_the_middle(tokens: list[int], engine: LlamaEngine) -> None:
    """The text typed on the cursor's line goes after <fim_middle> (typing appends to the prompt), the
    whitespace before the cursor left to the model (token healing)."""
    fim = engine.info.fim
    assert fim is not None
    after_middle = engine.detokenize(tokens[tokens.index(fim.middle) + 1 :]).lstrip(" ")  # the tokenizer's leading space
    assert after_middle.endswith("value =")
    assert CURRENT.startswith(after_middle) or ("\n" + after_middle) in CURRENT


@pytest.mark.parametrize("order", ["fim-first", "repository-first"])
def test_a_model_with_repository_tokens_gets_other_files_as_repository_files(tmp_path, order):
    special = FIM + REPOSITORY if order == "fim-first" else REPOSITORY + FIM  # ids do not matter, texts do
    tokens, engine = _prompt_tokens(tmp_path, special)
    fim = engine.info.fim
    assert fim is not None and fim.repository
    assert (fim.repo_name, fim.file_sep) == (_id(engine, "<|repo_name|>"), _id(engine, "<|file_sep|>"))
    assert tokens[len(engine.start_tokens)] == fim.repo_name
    separators = [index for index, token in enumerate(tokens) if token == fim.file_sep]
    assert len(separators) == 2  # prices.py, then main.py
    assert separators[-1] < tokens.index(fim.prefix) < tokens.index(fim.suffix) < tokens.index(fim.middle)
    _assert_the_cursor_line_follows_the_middle(tokens, engine)
