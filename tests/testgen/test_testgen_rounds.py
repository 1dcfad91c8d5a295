"""Coverage-guided rounds: branch maps, inputs mined from the source, the model's prompt and answers, and the
loop end to end on fixtures whose branches only a specific input reaches (with the real model)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from fireside.testgen.analysis import analyse_file, analyse_source
from fireside.testgen.branches import branch_map, gaps
from fireside.testgen.mining import doctest_calls, literal_source, mine_values, regex_examples, regex_uses
from fireside.testgen.pipeline import Options, generate_tests, resolve_target
from fireside.testgen.rounds import build_prompt, parse_calls

PARSER = '''
import re

PAIR = re.compile(r"(?P<key>[a-z]+)=(?P<value>\\d+)")


def parse(text: str, limit: int = 40) -> str:
    """Read one setting.

    >>> parse("port=80", 3)
    'port is 80'
    """
    cleaned = text.strip()
    if cleaned == "reset":
        return "reset"
    if cleaned.startswith("#"):
        return "comment"
    match = PAIR.fullmatch(cleaned)
    if match:
        return f"{match['key']} is {match['value']}"
    for char in cleaned:
        if char == "&":
            return "entity"
    if isinstance(text, bytes):
        return "bytes"
    return "unknown"


def sector(angle: int) -> str:
    turns, rest = divmod(angle, 360)
    if turns == 7 and rest == 0:
        return "seven turns"
    return "somewhere"
'''


def _module():
    return analyse_source(PARSER, "mod")


def test_branch_map_agrees_with_coverage_py_and_honours_no_cover():
    source = "def f(x):\n    if x:\n        return 1\n    return 2\n\nif __name__ == '__main__':  # pragma: no cover\n    f(1)\n"
    branches = branch_map(source)
    assert branches is not None and branches.branches == {(2, 3), (2, 4)}
    assert branches.percent([(2, 3)]) == 50.0
    (gap,) = gaps(analyse_source(source, "m"), branches, [(2, 3)])
    assert gap.function.name == "f" and gap.missing == [(2, 4)] and gap.lines == [4]


def test_values_are_mined_from_comparisons_prefixes_and_computed_values():
    module = _module()
    parse, sector = module.find("parse"), module.find("sector")
    found = {(v.param, v.source) for v in mine_values(parse, module)}
    assert {("text", "'reset'"), ("text", "'#a'"), ("text", "'&'"), ("text", "None")} <= found
    # turns == 7 where turns, rest = divmod(angle, 360): the angle that gives it.
    assert ("angle", "2520") in {(v.param, v.source) for v in mine_values(sector, module)}
    # Only the lines asked for.
    finite = analyse_source("import math\ndef f(x):\n    if not math.isfinite(float(x)):\n        return 0\n    return 1\n", "m")
    assert {"float('inf')", "'nan'"} <= {v.source for v in mine_values(finite.find("f"), finite)}
    reset_line = PARSER.splitlines().index('    if cleaned == "reset":') + 1
    assert {v.source for v in mine_values(parse, module, {reset_line})} == {"'reset'"}


def test_regular_expressions_give_strategies_and_matching_examples():
    module = _module()
    (use,) = regex_uses(module.find("parse"), module, "mod")
    assert (use.param, use.pattern, use.fullmatch) == ("text", "mod.PAIR", True)
    assert use.examples and all(re.fullmatch(r"[a-z]+=\d+", ast.literal_eval(e)) for e in use.examples)
    shapes = regex_examples(r"^(?P<sign>[+-])?P(?P<years>\d+Y)?(?P<days>\d+D)?$")
    assert {"+P1Y1D", "P1Y", "P1D", "-P1D"} <= set(shapes)
    assert regex_examples("(unclosed") == []


def test_docstring_calls_and_literal_arguments():
    module = _module()
    assert doctest_calls(module.find("parse"), ["text", "limit"]) == [{"text": "'port=80'", "limit": "3"}]
    assert literal_source(ast.parse("7 * 360", mode="eval").body) == "2520"
    assert literal_source(ast.parse("'ab' * 3", mode="eval").body) == "'ababab'"
    assert literal_source(ast.parse("'x' * 10**9", mode="eval").body) is None
    assert literal_source(ast.parse("open('f')", mode="eval").body) is None


def test_the_prompt_marks_the_missed_lines_and_answers_become_calls():
    module = _module()
    branches = branch_map(PARSER)
    gap = next(g for g in gaps(module, branches, []) if g.function.name == "sector")
    prompt = build_prompt(module, gap.function, gap)
    assert 'return "seven turns"  # NOT COVERED' in prompt and prompt.endswith("```python\nsector(")
    assert "import re" in prompt
    calls = parse_calls("2520)  # seven turns\nsector(angle=7 * 360)\nsector(x)\nprint(1)\n", gap.function)
    assert calls == [{"angle": "2520"}]


def test_mined_rounds_reach_a_magic_string_a_regex_and_a_computed_boundary(fixtures, tmp_path):
    target = resolve_target(str(fixtures / "branchy.py"))
    text, report, _ = generate_tests(target, tests_dir=tmp_path, write=False, options=Options(generator=None))
    assert report.branch_before is not None and report.branch_after is not None
    assert report.branch_after > report.branch_before
    assert report.rounds and report.rounds[0].source == "mined" and report.rounds[0].kept >= 2
    assert "@example(text='open sesame')" in text or "text='open sesame'" in text
    assert "st.from_regex(branchy._SETTING, fullmatch=True)" in text or "@example(text='set a=1')" in text
    assert "@example(weight_grams=30000)" in text
    assert report.bugs == [] and report.collect_ok is True
    # Every branch but the date's (for the model) is covered.
    module = analyse_file(fixtures / "branchy.py", "branchy")
    executed = frozenset().union(*(v.arcs for v in report.kept))
    missed = {g.function.name for g in gaps(module, branch_map(module.source), executed)}
    assert missed <= {"era"}


@pytest.mark.model
def test_rounds_with_the_real_model(fixtures, tmp_path):
    """The whole loop on branchy.py with the server's default model: the magic string, the regex match and the
    boundary are reached, and the model is shown what is left (the date) and its calls are run before kept."""
    from fireside.testgen.model import load_generator

    generator = load_generator()
    assert generator is not None, "the default model should load"
    target = resolve_target(str(fixtures / "branchy.py"))
    text, report, _ = generate_tests(
        target, tests_dir=tmp_path, write=False, options=Options(generator=generator, rounds=3, time_budget=600)
    )
    assert [r.source for r in report.rounds][:2] == ["mined", "model"]
    assert set(report.missed) <= {"era"}  # respond (magic string, regex) and shipping (boundary) are covered
    assert report.bugs == [] and report.collect_ok is True
    asked = [line for line in report.model_log if line.startswith("era (lines")]
    assert asked and "era('" in asked[0]  # the answer starts as a string literal: the first parameter is a str
    name = getattr(getattr(generator, "info", None), "name", "")
    if "qwen" in name.lower():  # Qwen2.5-Coder 0.5B proposes an ISO date; Gemma 3 270M does not (eval/RESULTS.md)
        this_millennium = (fixtures / "branchy.py").read_text().splitlines().index('        return "this millennium"') + 1
        assert "proposed by the model" in text and this_millennium not in report.missed.get("era", [])


def test_the_budget_stops_the_rounds_but_not_verification(fixtures, tmp_path, capsys):
    from fireside.cli import main

    target = resolve_target(str(fixtures / "branchy.py") + "::respond")
    _, spent, _ = generate_tests(target, tests_dir=tmp_path, write=False, options=Options(time_budget=0.001))
    assert spent.rounds == [] and spent.verified and spent.kept  # verified, but no round started
    _, none, _ = generate_tests(target, tests_dir=tmp_path, write=False, options=Options(rounds=0))
    assert none.rounds == [] and not [v for v in none.verdicts if v.reason == "added by a coverage round"]
    assert main(["testgen", str(fixtures / "branchy.py"), "--rounds", "-1", "--no-model"]) == 2
    assert "--rounds must be 0 or more" in " ".join(capsys.readouterr().err.split())


def test_inputs_that_broke_a_test_are_tried_first_on_its_narrower_siblings():
    from fireside.testgen.properties import SpecFactory
    from fireside.testgen.rounds import falsifying_inputs

    note = "Failing test case: test_p_fuzz(\n    string='',  # or any other generated value\n    separator='\\\\',\n)"
    failed = falsifying_inputs(note)
    assert failed == {"string": "''", "separator": "'\\\\'"}
    module = analyse_source("import re\ndef p(string: str, separator: str = '-') -> str:\n    return re.sub('[^a-z]+', separator, string)\n", "m")
    function = module.find("p")
    # A separator that becomes a regex replacement gets the characters regexes treat specially as boundaries.
    assert "\\" in [b.value for b in function.boundaries["separator"]]
    spec = SpecFactory(module, "m", set()).with_optional(function, {"separator"}, [failed])
    assert spec is not None and spec.examples == [{"string": "''", "separator": "'\\\\'"}]


def test_a_model_question_that_would_end_after_the_budget_is_not_asked(monkeypatch):
    """The clock is the model's: each question takes 25 s of a 60 s budget. Round 2 asks about both functions
    (0 → 25 → 50 s); round 3 starts (50 < 60) but asks nothing, since a question would end at 75 s."""
    import types

    from fireside.testgen import rounds
    from fireside.testgen.properties import SpecFactory
    from fireside.testgen.rounds import Budget, run_rounds
    from fireside.testgen.verify import RunResult

    clock = [0.0]
    monkeypatch.setattr(rounds, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))

    class SlowModel:
        calls = 0

        def generate(self, prompt, *, max_tokens, stop=()):
            self.calls += 1
            clock[0] += 25.0
            return "reset')\n" if prompt.endswith("'") else "7)\n"

    module, model = _module(), SlowModel()
    result = run_rounds(
        module, SpecFactory(module, "mod", set()), branch_map(PARSER), frozenset(), lambda specs: RunResult({}),
        target_file=Path("mod.py"), budget=Budget(rounds=4, seconds=60), started=0.0, generator=model,
    )
    assert model.calls == 2 and [r.source for r in result.log] == ["mined", "model", "model"]
    assert any(line.endswith("not asked, the module's time budget would be spent") for line in result.model_log)
