"""`fireside testgen` end to end on the fixture modules, and the editor's plan."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fireside.cli import main
from fireside.testgen.pipeline import Options, generate_tests, plan_tests_for_symbol, resolve_target


def _collects(path: Path, *pythonpath: Path) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(path)],
        cwd=path.parent, env=env, capture_output=True, text=True, timeout=120,
    )


def _test_names(text: str) -> list[str]:
    tree = ast.parse(text)
    names = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]
    return names


def test_file_path_writes_verified_file_that_collects(fixtures, tmp_path, capsys):
    code = main(["testgen", str(fixtures / "small.py"), "-o", str(tmp_path), "--no-model", "--json", "--time-limit", "5"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    written = tmp_path / "test_small.py"
    text = written.read_text()
    names = _test_names(text)
    assert "test_clamp_fuzz" in names and "test_decompress_inverts_compress" in names
    # average([]) divides by zero: kept, marked, reported.
    assert [bug["test"] for bug in report["bugs"]] == ["test_average_fuzz"]
    assert "# LIKELY BUG" in text.split("def test_average_fuzz")[0].rsplit("\n\n\n", 1)[-1]
    assert report["collect_ok"] is True and report["action"] == "create"
    # The file finds the module by a path relative to itself, so it collects from anywhere.
    result = _collects(written)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(names)} tests collected" in result.stdout


def test_second_run_merges_instead_of_overwriting(fixtures, tmp_path, capsys):
    target = tmp_path / "test_small.py"
    target.write_text("def test_mine():\n    assert 1 + 1 == 2\n")
    assert main(["testgen", str(fixtures / "small.py") + "::clamp", "-o", str(tmp_path), "--no-model", "--json", "--time-limit", "5"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["action"] == "merge"
    text = target.read_text()
    assert text.startswith("def test_mine():") is False or "def test_mine" in text
    assert "def test_mine():\n    assert 1 + 1 == 2" in text
    assert {"test_clamp_fuzz", "test_clamp_raises_valueerror_when_low_high"} <= set(_test_names(text))
    assert "average" not in text  # ::NAME limits the tests to that function
    assert _collects(target).returncode == 0


def test_dotted_name_stdout_unittest(fixtures, tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(fixtures))
    monkeypatch.chdir(tmp_path)
    code = main(["testgen", "fxpkg.textops", "--stdout", "--style", "unittest", "--no-model"])
    assert code == 0
    text = capsys.readouterr().out
    assert not list(tmp_path.iterdir())  # --stdout writes nothing
    tree = ast.parse(text)
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert [ast.unparse(c.bases[0]) for c in classes] == ["unittest.TestCase"]
    assert "from fxpkg import textops" in text and "sys.path" not in text
    assert "test_from_hex_inverts_to_hex" in _test_names(text)
    written = tmp_path / "test_textops.py"
    written.write_text(text)
    assert _collects(written, fixtures).returncode == 0


def test_no_run_on_method_target(fixtures, tmp_path, capsys):
    code = main(["testgen", f"{fixtures / 'shapes.py'}::Counter.add", "-o", str(tmp_path), "--no-run", "--no-model", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] is False and report["collect_ok"] is None  # nothing was run or imported
    text = (tmp_path / "test_shapes.py").read_text()
    assert set(_test_names(text)) == {"test_counter_add_fuzz", "test_counter_add_raises_valueerror_when_amount_0"}
    assert "instance=st.builds(shapes.Counter" in text
    collected = _collects(tmp_path / "test_shapes.py")
    assert collected.returncode == 0, collected.stdout[-1500:]


def test_whole_typed_module_verifies_and_narrows(fixtures, tmp_path):
    text, report, _ = generate_tests(resolve_target(str(fixtures / "shapes.py")), tests_dir=tmp_path, write=False)
    assert report.collect_ok is True
    assert {v.spec.name for v in report.bugs} == {"test_mean_fuzz"}
    dropped = {v.spec.name: v.reason for v in report.dropped}
    assert "test_decode_fuzz" in dropped and "JSONDecodeError" in dropped["test_decode_fuzz"]
    kept = {v.spec.name for v in report.kept}
    assert {"test_grade_docstring_examples", "test_decode_inverts_encode", "test_normalise_spaces_is_idempotent",
            "test_describe_fuzz", "test_pair_total_fuzz"} <= kept
    assert set(_test_names(text)) == kept | {"test_mean_fuzz"}


def test_docstring_typed_module_needs_narrowing(fixtures, tmp_path):
    _, report, _ = generate_tests(
        resolve_target(str(fixtures / "docstyles.py")), tests_dir=tmp_path, write=False, options=Options(limit=4)
    )
    google = next(v for v in report.verdicts if v.spec.name == "test_google_fuzz")
    # p * q with a huge q overflows; the bounded retry passes.
    assert google.status == "kept" and google.spec.narrow and google.attempts == 2


class FakeGenerator:
    """Deterministic stand-in for the local model."""

    def __init__(self, answers: dict[str, str]):
        self.answers = answers
        self.prompts: list[str] = []

    def generate(self, prompt: str, *, max_tokens: int, stop=()) -> str:
        self.prompts.append(prompt)
        param = prompt.rsplit("parameter `", 1)[1].split("`", 1)[0]
        return self.answers.get(param, "???")


def test_model_suggestions_are_verified(fixtures, tmp_path):
    good = FakeGenerator({"a": "int", "b": "int"})
    _, report, _ = generate_tests(
        resolve_target(f"{fixtures / 'small.py'}::combine"), tests_dir=tmp_path, write=False,
        options=Options(generator=good),
    )
    assert len(good.prompts) == 2 and "def combine(a, b)" in good.prompts[0]
    (verdict,) = report.verdicts
    assert verdict.status == "kept" and verdict.spec.origins == {"a": "model", "b": "model"}
    assert "st.integers()" in verdict.spec.given[0][1]

    bad = FakeGenerator({"a": "int", "b": "list[str]"})  # int + list raises TypeError: suggestion dropped
    _, report, _ = generate_tests(
        resolve_target(f"{fixtures / 'small.py'}::combine"), tests_dir=tmp_path, write=False,
        options=Options(generator=bad),
    )
    (verdict,) = report.verdicts
    assert "model" not in verdict.spec.origins.values()
    assert verdict.attempts > 1


def test_editor_plan_for_symbol(fixtures, tmp_path):
    source = (fixtures / "small.py").read_text()
    line = source.splitlines().index("def clamp(value: int, low: int = 0, high: int = 10) -> int:") + 1  # 0-based body
    seen: list[tuple[str, int, int | None]] = []
    plan = plan_tests_for_symbol(fixtures / "small.py", source, line, tmp_path, lambda *a: seen.append(a))
    assert plan.path == tmp_path / "test_small.py" and not plan.existed and plan.old_text is None
    assert {"test_clamp_fuzz", "test_clamp_raises_valueerror_when_low_high"} == set(_test_names(plan.new_text))
    assert not plan.path.exists()  # the editor applies the edit, not us
    assert {stage for stage, _, _ in seen} == {"analysed", "generated", "verified", "confirmed"}
    assert "2 pass" in plan.summary
    plan.path.write_text(plan.new_text)
    again = plan_tests_for_symbol(fixtures / "small.py", source, line, tmp_path, options=Options(run=False))
    assert again.existed and again.old_text == plan.new_text and again.new_text == plan.new_text


def test_bad_targets(fixtures, tmp_path):
    assert main(["testgen", str(tmp_path / "missing.py"), "--no-model"]) == 2
    assert main(["testgen", "no_such_module_anywhere", "--no-model"]) == 2
    assert main(["testgen", f"{fixtures / 'small.py'}::nope", "--no-model", "-o", str(tmp_path)]) == 2
    with pytest.raises(LookupError):
        plan_tests_for_symbol(fixtures / "small.py", "x = 1\n", 0, tmp_path)


def test_unreadable_targets_get_one_line_not_a_traceback(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    assert main(["testgen", str(broken), "--no-model", "--no-run", "--stdout"]) == 2
    assert "does not parse (invalid syntax, line 1)" in " ".join(capsys.readouterr().err.split())  # rich wraps
    binary = tmp_path / "binary.py"
    binary.write_bytes(b"\xff\xfe")
    assert main(["testgen", str(binary), "--no-model", "--no-run", "--stdout"]) == 2
    assert "is not UTF-8 text" in " ".join(capsys.readouterr().err.split())


def test_an_interpreter_without_hypothesis_is_named_as_the_problem(fixtures, tmp_path, capsys):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    code = main(["testgen", f"{fixtures / 'branchy.py'}::shipping", "--no-model", "-o", str(tmp_path / "out"),
                 "--python", str(bare / "bin" / "python")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 1 and "the interpreter that runs the tests cannot import hypothesis" in err
    assert "the module does not import" not in err and not (tmp_path / "out").exists()


def test_lazy_generator_loads_once_and_only_when_asked():
    from fireside.testgen.model import LazyGenerator

    loads = []

    def loader():
        loads.append(1)
        return FakeGenerator({"a": "int"})

    lazy = LazyGenerator(loader)
    assert loads == []
    assert lazy.generate("parameter `a`", max_tokens=4) == "int"
    assert lazy.generate("parameter `a`", max_tokens=4) == "int"
    assert loads == [1]
    missing = LazyGenerator(lambda: None)
    with pytest.raises(RuntimeError):
        missing.generate("x", max_tokens=1)


def test_submodule_shadowed_by_a_package_attribute(fixtures, tmp_path, capsys):
    # `from fxpkg import shadow` is the function; the test file must import the module itself.
    code = main(["testgen", str(fixtures / "fxpkg" / "shadow.py"), "--stdout", "--no-model", "--json",
                 "--time-limit", "5"])
    assert code == 0
    out = capsys.readouterr()
    assert "shadow = importlib.import_module('fxpkg.shadow')" in out.out
    report = json.loads(out.err[out.err.index("{"):])
    assert report["kept"] == ["test_shadow_fuzz"] and report["collect_ok"] is True


def test_retry_variants_narrow_then_leave_optional_parameters_at_defaults(fixtures):
    from fireside.testgen.analysis import analyse_file
    from fireside.testgen.pipeline import _variants

    groups, _, _ = _variants(analyse_file(fixtures / "small.py", "small"), "small", "clamp", {})
    fuzz = next(g for g in groups if g[0].name == "test_clamp_fuzz")
    assert [s.narrow for s in fuzz] == [False, True, True]
    assert [name for name, _ in fuzz[0].given] == ["value", "low", "high"]
    assert fuzz[1].given[0][1] == "st.integers(min_value=-1000, max_value=1000)"
    assert [name for name, _ in fuzz[-1].given] == ["value"]
