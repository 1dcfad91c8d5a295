"""Hypothesis test generation from signatures (`fireside testgen` and the editor's code action).

Static analysis only (the target is imported solely to run the generated tests); see docs/testgen.md.
Nothing in this package imports pygls: the LSP server calls `plan_tests_for_symbol` and builds the edit.
"""

from fireside.testgen.model import TextGenerator
from fireside.testgen.pipeline import Options, TestFilePlan, generate_tests, plan_tests_for_symbol, resolve_target

__all__ = ["Options", "TestFilePlan", "TextGenerator", "generate_tests", "plan_tests_for_symbol", "resolve_target"]
