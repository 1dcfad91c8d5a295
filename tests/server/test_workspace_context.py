"""The workspace index (tree-sitter definitions), its updates from edits and from disk, and the
context it puts into prompts (golden prompts over the sample project)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fireside.completion.fake_engine import FAKE_FIM, FAKE_REPOSITORY_FIM, FakeEngine
from fireside.completion.pipeline import complete
from fireside.completion.prompt import FimTokens
from fireside.completion.types import CompletionRequest
from fireside.context.index import WorkspaceIndex
from fireside.context.workspace import WorkspaceWatcher, source_files

SAMPLE = Path(__file__).resolve().parents[2] / "eval" / "sample_project"
GOLDEN = Path(__file__).parent / "golden"


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_definitions_of_the_sample_project_are_indexed():
    index = WorkspaceIndex()
    for path in source_files(SAMPLE):
        index.update_from_disk(path)
    names = {d.name: d for d in index.lookup(["Catalog", "Product", "VAT_RATE", "format_invoice"])}
    assert set(names) == {"Catalog", "Product", "VAT_RATE", "format_invoice"}
    assert names["Catalog"].kind == "class" and "def tagged(self, tag: str) -> list[Product]: ..." in names["Catalog"].stub
    assert names["VAT_RATE"].stub == 'VAT_RATE = Decimal("0.20")'
    assert names["format_invoice"].stub.startswith("def format_invoice(cart: Cart, customer: str) -> str:")
    cart_path = str(SAMPLE / "shop" / "cart.py")
    assert not index.lookup(["VAT_RATE"], exclude_path=cart_path)  # never a file's own definitions


def test_edits_replace_a_files_definitions():
    index = WorkspaceIndex()
    index.update_text("/w/a.py", "def old(): pass\n")
    assert [d.name for d in index.lookup(["old"])] == ["old"]
    index.update_text("/w/a.py", "def new(x): pass\n")
    assert index.lookup(["old"]) == [] and [d.name for d in index.lookup(["new"])] == ["new"]
    index.remove("/w/a.py")
    assert index.lookup(["new"]) == []


def test_gitignored_and_vendored_trees_are_skipped(tmp_path):
    (tmp_path / ".gitignore").write_text("generated/\n*_pb2.py\n")
    for relative in ["app/main.py", "generated/big.py", "app/api_pb2.py", ".venv/lib/x.py", "node_modules/m/y.py", "vendor/z.py", "app/readme.txt"]:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")
    found = sorted(p.relative_to(tmp_path).as_posix() for p in source_files(tmp_path))
    assert found == ["app/main.py"]


def test_watcher_follows_files_changed_outside_the_editor(tmp_path):
    (tmp_path / "first.py").write_text("def first(): pass\n")
    index = WorkspaceIndex()
    watcher = WorkspaceWatcher(tmp_path, index)
    watcher.start()
    try:
        assert watcher.scanned.wait(10)
        assert index.lookup(["first"])
        (tmp_path / "second.py").write_text("class Second:\n    def go(self): ...\n")
        assert wait_until(lambda: index.lookup(["Second"])), "a new file is indexed"
        (tmp_path / "second.py").write_text("class Renamed:\n    pass\n")
        assert wait_until(lambda: index.lookup(["Renamed"]) and not index.lookup(["Second"])), "a changed file is re-indexed"
        (tmp_path / "second.py").rename(tmp_path / "third.py")
        assert wait_until(lambda: [d.path for d in index.lookup(["Renamed"])] == [str(tmp_path / "third.py")])
        (tmp_path / "third.py").unlink()
        assert wait_until(lambda: not index.lookup(["Renamed"])), "a deleted file leaves the index"
        # While the editor has a file open, its buffer wins over the disk.
        index.set_open(str(tmp_path / "first.py"), True)
        index.update_text(str(tmp_path / "first.py"), "def from_buffer(): pass\n")
        (tmp_path / "first.py").write_text("def from_disk(): pass\n")
        time.sleep(1.0)
        assert index.lookup(["from_buffer"]) and not index.lookup(["from_disk"])
    finally:
        watcher.stop()


def _prompt_for(relative: str, marker: str, features: frozenset[str], fim: FimTokens | None = None) -> str:
    index = WorkspaceIndex()
    for path in source_files(SAMPLE):
        index.update_from_disk(path)
    path = SAMPLE / relative
    text = path.read_text()
    offset = text.index(marker) + len(marker)
    engine = FakeEngine(fim=fim)
    request = CompletionRequest(path.as_uri(), "python", text, offset, 1, 16, relative)
    complete(engine, request, max_prompt_tokens=3000, context_size=4096, cancelled=lambda: False,
             features=features, index=index, workspace_root=str(SAMPLE))
    return engine.last_prompt_text


ALL = frozenset({"definitions", "imports", "scopes", "repo-format"})


@pytest.mark.parametrize(
    ("name", "relative", "marker", "features", "fim"),
    [
        ("invoice_all", "shop/invoice.py", "def cheapest_line(cart: Cart):\n    ", ALL, None),
        ("invoice_no_definitions", "shop/invoice.py", "def cheapest_line(cart: Cart):\n    ", frozenset({"imports", "scopes"}), None),
        ("cart_subtotal", "shop/cart.py", "            total += ", ALL, None),
        # A FIM model with repository tokens (Qwen2.5-Coder's layout), and one with FIM tokens only.
        ("invoice_repository_fim", "shop/invoice.py", "def cheapest_line(cart: Cart):\n    ", ALL, FAKE_REPOSITORY_FIM),
        ("cart_subtotal_repository_fim", "shop/cart.py", "            total += ", ALL, FAKE_REPOSITORY_FIM),
        ("invoice_fim", "shop/invoice.py", "def cheapest_line(cart: Cart):\n    ", ALL, FAKE_FIM),
    ],
)
def test_golden_prompts(name, relative, marker, features, fim, request):
    prompt = _prompt_for(relative, marker, features, fim)
    golden = GOLDEN / f"{name}.txt"
    if request.config.getoption("--update-golden", default=False) or not golden.exists():
        golden.write_text(prompt)
        pytest.skip(f"wrote {golden.name}; review it")
    assert prompt == golden.read_text()


def test_the_file_being_typed_in_is_not_reparsed_for_its_own_lookups():
    index = WorkspaceIndex()
    index.update_text("/w/other.py", "def helper(): pass\n")
    index.update_text("/w/typing.py", "def mine(): pass\n")
    assert [d.name for d in index.lookup(["helper", "mine"], exclude_path="/w/typing.py")] == ["helper"]
    assert [d.name for d in index.definitions_in("/w/typing.py")] == ["mine"]  # parsed when asked for
    assert [d.name for d in index.lookup(["mine"], exclude_path="/w/other.py")] == ["mine"]
