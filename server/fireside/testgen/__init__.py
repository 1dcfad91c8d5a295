"""Hypothesis test generation (`fireside testgen` and the editor's code action).

Static analysis of the target (it is never imported to be analysed), tests verified in a sandbox
(sandbox.py), coverage-guided rounds that go after the branches they miss (rounds.py, mining.py), and
likely-bug reports only with evidence (verify.py); see docs/testgen.md. Nothing in this package imports
pygls: the LSP server calls `plan_tests_for_symbol` and builds the edit.
"""

from fireside.testgen.model import TextGenerator
from fireside.testgen.pipeline import Options, TestFilePlan, generate_tests, plan_tests_for_symbol, resolve_target

__all__ = ["Options", "TestFilePlan", "TextGenerator", "generate_tests", "plan_tests_for_symbol", "resolve_target"]
