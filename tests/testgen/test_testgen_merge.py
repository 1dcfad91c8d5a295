import ast

from fireside.testgen.merge import merge
from fireside.testgen.properties import TestSpec
from fireside.testgen.render import TargetImport, render_file


def _rendered(names, style="pytest"):
    specs = [TestSpec(name=n, kind="no_exception", qualname="f", lineno=1, given=[("x", "st.integers()")], call="m.f(x=x)") for n in names]
    return render_file(specs, TargetImport("m", "m"), style=style)


def test_create_when_absent(tmp_path):
    result = merge(tmp_path / "test_m.py", None, _rendered(["test_a"]))
    assert result.action == "create" and result.added == ["test_a"]
    ast.parse(result.text)


def test_merge_keeps_existing_tests_and_adds_new(tmp_path):
    existing = '"""Mine."""\nimport os\n\n\ndef test_a():\n    assert os.sep\n\n\ndef test_mine():\n    assert True\n'
    result = merge(tmp_path / "test_m.py", existing, _rendered(["test_a", "test_b"]))
    assert result.action == "merge"
    assert result.added == ["test_b"] and result.already_present == ["test_a"]
    tree = ast.parse(result.text)
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert names == ["test_a", "test_mine", "test_b"]
    assert "def test_mine():\n    assert True" in result.text  # untouched
    assert "from hypothesis import given, strategies as st" in result.text
    assert result.text.index("from hypothesis") < result.text.index("def test_a")


def test_unchanged_when_nothing_new(tmp_path):
    rendered = _rendered(["test_a"])
    result = merge(tmp_path / "test_m.py", rendered.text, rendered)
    assert result.action == "unchanged" and result.text == rendered.text


def test_unparseable_file_is_left_alone(tmp_path):
    path = tmp_path / "test_m.py"
    path.write_text("def broken(:\n")
    result = merge(path, path.read_text(), _rendered(["test_a"]))
    assert result.action == "beside" and result.path == tmp_path / "test_m_generated.py"
    assert "does not parse" in result.message


def test_unittest_merge_adds_a_class_before_main(tmp_path):
    first = _rendered(["test_a"], "unittest")
    result = merge(tmp_path / "test_m.py", first.text, _rendered(["test_a", "test_b"], "unittest"))
    tree = ast.parse(result.text)
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    assert classes == ["TestM", "TestMMore"]
    assert result.text.rstrip().endswith("unittest.main()")
