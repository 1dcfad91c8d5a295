"""The models directory's registry and the CLI over it (no model needed: fast)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fireside.models.registry import ModelRegistry, fingerprint, is_candidate_name
from fireside.models.validation import load_smoke_suite, spliced_parses, validate_model


def fireside(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fireside", *args], capture_output=True, text=True, timeout=120)


def test_activate_keeps_the_previous_model_and_rollback_swaps_them(tmp_path: Path):
    for name in ("a.gguf", "b.gguf"):
        (tmp_path / name).write_bytes(b"GGUF")
    registry = ModelRegistry(tmp_path)
    registry.activate("a.gguf")
    state = registry.activate("b.gguf")
    assert (state.active, state.previous) == ("b.gguf", "a.gguf")
    state = registry.rollback()
    assert (state.active, state.previous) == ("a.gguf", "b.gguf")
    assert registry.load().active == "a.gguf", "the state is on disk"
    assert registry.load().active_fingerprint == fingerprint(tmp_path / "a.gguf")


def test_rollback_without_a_previous_model_is_a_clear_error(tmp_path: Path):
    registry = ModelRegistry(tmp_path)
    with pytest.raises(LookupError, match="no previous model"):
        registry.rollback()
    result = fireside("models", "rollback", "--models-dir", str(tmp_path))
    assert result.returncode == 1
    assert "no previous model" in result.stderr


def test_a_corrupt_registry_file_starts_afresh_instead_of_failing(tmp_path: Path):
    registry = ModelRegistry(tmp_path)
    registry.state_path.parent.mkdir()
    registry.state_path.write_text("{not json")
    assert registry.load().active is None
    registry.reject("x.gguf", "bad header", "1:2")
    assert json.loads(registry.state_path.read_text())["rejected"]["x.gguf"]["reason"] == "bad header"
    assert not list(registry.state_path.parent.glob("*.tmp")), "the atomic write leaves no temporary file"


def test_temporary_and_hidden_names_are_never_candidates():
    assert is_candidate_name("model.gguf")
    for name in ("model.gguf.part", "model.gguf.tmp", ".model.gguf", "~model.gguf", "model.bin"):
        assert not is_candidate_name(name), name


def test_models_list_shows_active_previous_and_rejected(tmp_path: Path):
    for name in ("a.gguf", "b.gguf", "broken.gguf"):
        (tmp_path / name).write_bytes(b"GGUF" + bytes(1000))
    (tmp_path / "partial.gguf.part").write_bytes(b"GG")
    registry = ModelRegistry(tmp_path)
    registry.activate("a.gguf")
    registry.activate("b.gguf")
    registry.reject("broken.gguf", "loads: not a GGUF model file", fingerprint(tmp_path / "broken.gguf"))
    result = fireside("models", "list", "--models-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert "active" in lines["b.gguf"]
    assert "previous" in lines["a.gguf"]
    assert "rejected: loads: not a GGUF model file" in lines["broken.gguf"]
    assert "partial.gguf.part" not in result.stdout


def test_validate_rejects_a_file_that_is_not_a_gguf_with_a_readable_report(tmp_path: Path):
    path = tmp_path / "random.gguf"
    path.write_bytes(bytes(range(256)) * 8)
    result = fireside("models", "validate", str(path))
    assert result.returncode == 1
    assert "random.gguf: REJECTED" in result.stdout
    assert "not a GGUF model file" in result.stdout
    report = validate_model(path, latency_budget_ms=1000)
    assert not report.passed and "bad header" in report.reason


def test_smoke_suite_is_packaged_and_its_parse_check_can_fail():
    suite = load_smoke_suite()
    assert len(suite.prompts) >= suite.min_passing >= 1
    text = suite.prompts[0].text
    assert spliced_parses(text, "first + second")
    assert not spliced_parses(text, "first +")
    assert not spliced_parses(text, "   ")
    assert spliced_parses(text, "first + second\n  )))broken"), "a whole-line prefix that parses is enough"


def test_eval_smoke_prompts_is_the_packaged_file():
    repo = Path(__file__).resolve().parents[2]
    packaged = Path(__import__("fireside.models", fromlist=["x"]).__file__).parent / "smoke_prompts.json"
    assert json.loads(packaged.read_text()) == json.loads((repo / "eval" / "smoke_prompts.json").read_text())


def test_a_candidate_over_the_latency_budget_is_rejected_for_that_reason(tmp_path: Path):
    from fireside.completion.fake_engine import FakeEngine

    slow = validate_model(tmp_path / "slow.gguf", latency_budget_ms=20, load=lambda path: FakeEngine(token_delay_s=0.01))
    assert not slow.passed
    assert [check.name for check in slow.checks if not check.passed] == ["latency"]
    assert "budget 20 ms" in slow.reason
    fast = validate_model(tmp_path / "fast.gguf", latency_budget_ms=5000, load=lambda path: FakeEngine())
    assert fast.passed, fast.render()


def test_a_candidate_whose_completions_do_not_parse_is_rejected(tmp_path: Path):
    from fireside.completion.fake_engine import FakeEngine

    report = validate_model(tmp_path / "babble.gguf", latency_budget_ms=5000, load=lambda path: FakeEngine(text=")))"))
    assert not report.passed
    assert "smoke evaluation: 0/" in report.reason


@pytest.mark.model
def test_models_validate_passes_the_embedded_model():
    from fireside.completion.default_model import default_model_path

    result = fireside("models", "validate", str(default_model_path()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout and "[ok] smoke evaluation" in result.stdout
