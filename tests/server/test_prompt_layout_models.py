"""The prompt layout follows what a real GGUF's vocabulary offers: FIM and repository tokens are read by
llama.cpp from the file (tiny real models, written here), and the pipeline lays the prompt out for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from fireside.completion.engine import LlamaEngine
from fireside.completion.pipeline import complete
from fireside.completion.types import CompletionRequest
from fireside.context.index import WorkspaceIndex
from tiny_models import FIM, REPOSITORY, write_model

OTHER = "def price_of(item):\n    return item.price\n"
CURRENT = "from prices import price_of\n\ntotal = price_of(item)\nvalue = \nprint(value)\n"


def _prompt_tokens(tmp_path: Path, special: tuple[str, ...]) -> tuple[list[int], LlamaEngine]:
    engine = LlamaEngine(write_model(tmp_path / "model.gguf", special), context_size=512, threads=1)
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
             features=frozenset({"definitions", "imports", "repo-format"}), index=index, workspace_root=str(tmp_path / "w"))
    return seen[0], engine


def _id(engine: LlamaEngine, text: str) -> int:
    return engine._llama.tokenize(text.encode(), add_bos=False, special=True)[0]


def test_a_model_without_fim_gets_the_plain_prefix(tmp_path):
    tokens, engine = _prompt_tokens(tmp_path, ())
    assert engine.info.fim is None
    assert engine.tokenize("price_of")[0] in tokens  # the definitions, as text before the file


def test_a_fim_model_without_repository_tokens_gets_fim_with_comment_headers(tmp_path):
    tokens, engine = _prompt_tokens(tmp_path, FIM)
    fim = engine.info.fim
    assert fim is not None and not fim.repository
    assert tokens[len(engine.start_tokens)] == fim.prefix
    assert tokens[-1] == fim.middle
    assert tokens.index(fim.prefix) < tokens.index(fim.suffix) < tokens.index(fim.middle)


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
    assert separators[-1] < tokens.index(fim.prefix) < tokens.index(fim.suffix) < tokens.index(fim.middle) == len(tokens) - 1
