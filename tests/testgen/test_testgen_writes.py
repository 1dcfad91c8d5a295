"""Safe writes and what may run: test files are written atomically and never over a change made meanwhile;
user code runs only when the buffer is the file saved inside the workspace."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fireside.cli import main
from fireside.testgen.merge import FileChanged, write_atomically
from fireside.testgen.pipeline import Options, generate_tests, merge_into, plan_tests_for_symbol, resolve_target

HARMLESS = '''def greet(name: str) -> str:
    """Say hello.

    >>> greet("Ada")
    'Hello, Ada'
    """
    return "Hello, " + name
'''


def _with_marker_example(marker: Path) -> str:
    # The same function; its docstring example writes a file when it runs.
    return HARMLESS.replace('>>> greet("Ada")\n    \'Hello, Ada\'', f">>> open({str(marker)!r}, 'w').write('ran')\n    3")


def _names(text: str) -> set[str]:
    return {n.name for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef)}


def test_atomic_write_replaces_creates_and_keeps_the_mode(tmp_path):
    path = tmp_path / "tests" / "test_x.py"
    write_atomically(path, "one\n", None)
    assert path.read_text() == "one\n"
    path.chmod(0o640)
    write_atomically(path, "two\n", "one\n")
    assert path.read_text() == "two\n" and (path.stat().st_mode & 0o777) == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["test_x.py"]  # no temporary file left


def test_atomic_write_refuses_when_the_file_changed_meanwhile(tmp_path):
    path = tmp_path / "test_x.py"
    path.write_text("the user's edit\n")
    with pytest.raises(FileChanged):
        write_atomically(path, "generated\n", "what was read before\n")
    with pytest.raises(FileChanged):
        write_atomically(path, "generated\n", None)  # it did not exist when read: it appeared since
    assert path.read_text() == "the user's edit\n" and len(list(tmp_path.iterdir())) == 1


def test_a_cli_killed_mid_write_leaves_the_original_file_intact(tmp_path):
    path = tmp_path / "test_x.py"
    original = "def test_mine():\n    assert True\n" * 1000
    path.write_text(original)
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from fireside.testgen import merge

        def killed(fd):  # the process dies after writing the new text, before the rename
            os.kill(os.getpid(), signal.SIGKILL)

        merge.os.fsync = killed
        merge.write_atomically(Path({str(path)!r}), "half of something new", Path({str(path)!r}).read_text())
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert completed.returncode == -9
    assert path.read_text() == original


def test_generation_refuses_to_write_over_a_test_file_changed_meanwhile(fixtures, tmp_path, capsys):
    test_file = tmp_path / "test_small.py"
    test_file.write_text("def test_mine():\n    assert True\n")

    def edit_while_verifying(stage: str, advance: int, total: int | None) -> None:
        if stage == "verified" and advance == 0:
            test_file.write_text("def test_mine():\n    assert True\n\n\ndef test_added_meanwhile():\n    pass\n")

    with pytest.raises(FileChanged):
        generate_tests(resolve_target(str(fixtures / "small.py") + "::clamp"), tests_dir=tmp_path,
                       options=Options(rounds=0), progress=edit_while_verifying)
    assert "test_added_meanwhile" in test_file.read_text() and "test_clamp_fuzz" not in test_file.read_text()


def _workspace(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\nversion = '0'\n")
    source = root / "greeting.py"
    source.write_text(HARMLESS)
    return root, source


@pytest.mark.parametrize("case", ["buffer differs", "unsaved", "outside the workspace"])
def test_a_docstring_example_in_code_not_saved_in_the_workspace_never_runs(tmp_path, case):
    root, source = _workspace(tmp_path)
    marker = tmp_path / "marker"
    buffer = _with_marker_example(marker)
    workspace = root
    if case == "unsaved":
        source = root / "new_module.py"  # never written to disk
    elif case == "outside the workspace":
        source.write_text(buffer)  # saved, equal to the buffer, but not under the workspace root
        workspace = root / "elsewhere"
        workspace.mkdir()
    plan = plan_tests_for_symbol(source, buffer, 0, root / "tests", workspace_root=workspace, check_workspace=True)
    assert not marker.exists()
    assert plan.report.verified is False and "NOT VERIFIED" in plan.summary and "save" in plan.summary
    assert "NOT VERIFIED: these tests were not run" in plan.new_text
    assert "test_greet_docstring_examples" in _names(plan.new_text)  # written, not run


def test_the_same_example_saved_in_the_workspace_does_run(tmp_path):
    # The control for the test above: the marker appears when the example is allowed to run (in the sandbox).
    root, source = _workspace(tmp_path)
    marker = tmp_path / "marker"
    source.write_text(_with_marker_example(marker))
    plan = plan_tests_for_symbol(source, source.read_text(), 0, root / "tests", workspace_root=root,
                                 check_workspace=True, options=Options(rounds=0))
    assert plan.report.verified is True
    assert marker.read_text() == "ran"


def test_new_tests_go_into_the_open_buffer_of_the_test_file(fixtures, tmp_path):
    source = (fixtures / "small.py").read_text()
    line = source.splitlines().index("def clamp(value: int, low: int = 0, high: int = 10) -> int:") + 1
    (tmp_path / "test_small.py").write_text("def test_on_disk():\n    pass\n")
    unsaved = "def test_on_disk():\n    pass\n\n\ndef test_only_in_the_buffer():\n    pass\n"
    plan = plan_tests_for_symbol(fixtures / "small.py", source, line, tmp_path, options=Options(rounds=0),
                                 open_test_text=unsaved)
    assert plan.old_text == unsaved and {"test_only_in_the_buffer", "test_clamp_fuzz"} <= _names(plan.new_text)
    # The buffer changed again while the tests were generated: merged into what it holds now.
    later = unsaved + "\n\ndef test_typed_meanwhile():\n    pass\n"
    again = merge_into(plan, tmp_path / "test_small.py", later)
    assert again.old_text == later
    assert {"test_only_in_the_buffer", "test_typed_meanwhile", "test_clamp_fuzz"} <= _names(again.new_text)


def test_cli_says_so_in_one_line_when_the_test_file_changed(fixtures, tmp_path, monkeypatch, capsys):
    from fireside.testgen import pipeline

    real = pipeline.write_atomically

    def changed_meanwhile(path, text, expected):  # noqa: ANN001
        path.write_text("# the user's edit\n")
        return real(path, text, expected)

    monkeypatch.setattr(pipeline, "write_atomically", changed_meanwhile)
    code = main(["testgen", str(fixtures / "small.py") + "::clamp", "-o", str(tmp_path), "--no-model", "--rounds", "0"])
    assert code == 1
    assert "changed while the tests were generated" in " ".join(capsys.readouterr().err.split())
    assert (tmp_path / "test_small.py").read_text() == "# the user's edit\n"
    assert os.listdir(tmp_path) == ["test_small.py"]
