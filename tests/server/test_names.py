"""The name oracle and the guided token choice as pure functions (issue 18): which slot a text ends
in, which names jedi and tree-sitter call valid there, and which token the chooser picks from given
logits over a small made-up vocabulary."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy
import pytest

from fireside.completion.guidance import GuidedChooser, NameGuide, VocabText
from fireside.config import FiresideConfig, merge_config
from fireside.context.names import (
    JediOracle,
    NameQuery,
    NameService,
    NameSet,
    NameTable,
    Slot,
    SyntaxOracle,
    find_slot,
    oracle_for,
)

CART = textwrap.dedent(
    '''\
    from collections import Counter

    import pricing


    class Cart:
        def __init__(self) -> None:
            self.quantities: Counter[str] = Counter()
            self.prices = {}

        def add(self, sku: str, count: int = 1) -> None:
            self.quantities[sku] += count

        def remove(self, sku: str) -> None:
            del self.quan
    '''
)
PRICING = textwrap.dedent(
    '''\
    def apply_discount(amount, *, discount_rate=0.0, rounding="half-up"):
        return amount * (1 - discount_rate)


    def round_price(amount):
        return round(amount, 2)


    TAX_RATE = 0.2
    '''
)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("workspace")
    (root / "cart.py").write_text(CART)
    (root / "pricing.py").write_text(PRICING)
    return root


def query(root: Path, text: str, marker: str, name: str = "cart.py") -> NameQuery:
    offset = text.index(marker) + len(marker)
    return NameQuery(text, offset, str(root / name), str(root), "python")


# ----- NameSet ----------------------------------------------------------------------------------
def test_name_set_answers_prefixes_and_whole_names():
    names = NameSet(["quantities", "prices", "quantity_of", "add"], keywords=["discount"])
    assert names.has_prefix("quan") and names.has_prefix("quantit") and names.has_prefix("")
    assert not names.has_prefix("quanit") and not names.has_prefix("z")
    assert "quantities" in names and "quan" not in names and "discount" in names
    assert names.with_prefix("quanti") == ["quantities", "quantity_of"]
    assert names.keywords == {"discount"}
    assert not NameSet([]).has_prefix("")


# ----- slots ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "slot"),
    [
        ("        del self.quan", Slot("member", "self", "quan")),
        ("    self.", Slot("member", "self", "", statement_start=True)),
        ("    total = self.cart.", Slot("member", "self.cart", "")),
        ("    os.path.jo", Slot("member", "os.path", "jo", statement_start=True)),
        ("from os.path import jo", Slot("import", "os.path", "jo")),
        ("from .pricing import (round_price, ap", Slot("import", ".pricing", "ap")),
        ("from os.path import", Slot("import", "os.path", "", after_space=True)),  # healed: the space comes next
        ("    x = apply_discount(total, disc", Slot("argument", "apply_discount", "disc")),
        ("    x = apply_discount(\n        total,\n        ", Slot("argument", "apply_discount", "")),
        ("    x = pricing.apply_discount(total, r", Slot("argument", "pricing.apply_discount", "r")),
    ],
)
def test_slots_where_a_name_is_written(text, slot):
    assert find_slot(text) == slot


@pytest.mark.parametrize(
    "text",
    [
        "    x = 1",  # a bare name: may be new
        "    # see self.qu",  # a comment
        "    s = 'self.qu",  # a string
        "    get().x",  # a call's result
        "    a.b.c.d",  # a chain longer than two names
        "def f(a, b",  # a definition's parameters are new names
        "    items = [a, b",  # a list, not a call
        "    x = 3.14",  # a number
        "    if (a, b",  # a keyword before the parenthesis
    ],
)
def test_no_slot_where_the_name_may_be_new_or_the_syntax_is_unclear(text):
    assert find_slot(text) is None


# ----- jedi -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def jedi_oracle() -> JediOracle:
    return JediOracle()


def test_jedi_knows_the_attributes_of_self_and_leaves_out_the_typo(workspace, jedi_oracle):
    table = jedi_oracle.table(query(workspace, CART, "del self.quan"))
    members = table.names_for(Slot("member", "self", "quan"))
    assert members is not None
    assert members.with_prefix("quan") == ["quantities"]
    assert {"prices", "add", "remove"} <= set(members.names)


def test_jedi_knows_a_workspace_modules_members(workspace, jedi_oracle):
    text = CART.replace("del self.quan", "return pricing.ro")
    table = jedi_oracle.table(query(workspace, text, "pricing.ro"))
    members = table.names_for(Slot("member", "pricing", "ro"))
    assert members is not None and members.with_prefix("ro") == ["round_price"]
    assert "TAX_RATE" in members and "apply_discount" in members


def test_jedi_knows_what_an_import_may_name(workspace, jedi_oracle):
    text = "from pricing import ap\n"
    table = jedi_oracle.table(query(workspace, text, "import ap", "main.py"))
    names = table.names_for(Slot("import", "pricing", "ap"))
    assert names is not None and names.with_prefix("ap") == ["apply_discount"]


def test_jedi_knows_the_keyword_parameters_of_a_workspace_function(workspace, jedi_oracle):
    text = "from pricing import apply_discount\n\ntotal = 3\nprice = apply_discount(total, disc\n"
    table = jedi_oracle.table(query(workspace, text, "total, disc", "main.py"))
    names = table.names_for(Slot("argument", "apply_discount", "disc"))
    assert names is not None
    assert names.keywords == {"amount", "discount_rate", "rounding"}
    assert "total" in names and "apply_discount" in names  # positional arguments name what exists


@pytest.mark.parametrize(
    ("text", "slot"),
    [
        # A parameter with no type: jedi cannot tell what it is.
        ("def handle(payload):\n    return payload.na\n", Slot("member", "payload", "na")),
        # Any name answers on an object with __getattr__.
        (
            "class Dyn:\n    def __getattr__(self, name):\n        return 1\n\nd = Dyn()\nd.fo\n",
            Slot("member", "d", "fo"),
        ),
        # A base class that does not resolve: its members are unknown.
        ("from nowhere import Base\n\nclass C(Base):\n    def m(self):\n        self.x\n", Slot("member", "self", "x")),
        ("import not_a_module\nnot_a_module.f\n", Slot("member", "not_a_module", "f")),
        ("from not_a_module import f\n", Slot("import", "not_a_module", "f")),
        # A builtin takes comprehensions (new names); **kwargs takes any keyword.
        ("xs = []\ntotal = sum(x\n", Slot("argument", "sum", "x")),
        ("def f(a, **options):\n    pass\n\nf(1, colo\n", Slot("argument", "f", "colo")),
    ],
)
def test_jedi_says_unknown_where_it_does_not_know(workspace, jedi_oracle, text, slot):
    marker = text.rstrip("\n").rsplit("\n", 1)[-1]
    table = jedi_oracle.table(query(workspace, text, marker, "main.py"))
    assert table.names_for(slot) is None


def test_self_at_a_statement_start_in_init_may_define_a_new_attribute(workspace, jedi_oracle):
    text = CART.replace("        self.prices = {}\n", "        self.prices = {}\n        self.\n")
    table = jedi_oracle.table(query(workspace, text, "{}\n        self."))
    assert table.names_for(Slot("member", "self", "", statement_start=True)) is None
    assert table.names_for(Slot("member", "self", "", statement_start=False)) is not None


# ----- tree-sitter (other languages; Python's syntax tested here) -------------------------------
def test_syntax_oracle_knows_members_of_the_enclosing_class(workspace):
    table = SyntaxOracle("python").table(query(workspace, CART, "del self.quan"))
    members = table.names_for(Slot("member", "self", "quan"))
    assert members is not None
    assert set(members.names) == {"__init__", "add", "remove", "quantities", "prices"}  # not the typo


def test_syntax_oracle_says_unknown_for_a_base_class_from_elsewhere(workspace):
    text = "from lib import Base\n\nclass C(Base):\n    def m(self):\n        self.x\n"
    table = SyntaxOracle("python").table(query(workspace, text, "self.x", "c.py"))
    assert not table


BRACE_CLASSES = {
    "javascript": ("cart.js", "class Cart {\n  constructor() { this.quantities = {}; }\n  add(sku) { this.quantities[sku] = 1; }\n"
                   "  remove(sku) { delete this.quan; }\n}\n", "delete this.quan", "this",
                   {"constructor", "quantities", "add", "remove"}),
    "typescript": ("cart.ts", "class Cart {\n  quantities: Map<string, number> = new Map();\n  remove(sku: string) { this.quan; }\n}\n",
                   "this.quan", "this", {"quantities", "remove"}),
    "typescriptreact": ("cart.tsx", "class Cart {\n  quantities = 0;\n  remove() { this.quan; }\n}\n", "this.quan", "this",
                        {"quantities", "remove"}),
    "java": ("Cart.java", "class Cart {\n  private int quantities;\n  void remove() { this.quan; }\n}\n", "this.quan", "this",
             {"quantities", "remove"}),
    "cpp": ("cart.cpp", "class Cart {\n  int quantities;\n  void remove() { this->quan; }\n};\n", "this->quan", "this",
            {"quantities", "remove"}),
}


@pytest.mark.parametrize("language", sorted(BRACE_CLASSES))
def test_syntax_oracle_knows_members_through_this_in_brace_languages(workspace, language):
    name, text, marker, self_word, expected = BRACE_CLASSES[language]
    oracle = oracle_for(language)
    assert isinstance(oracle, SyntaxOracle)
    offset = text.index(marker) + len(marker)
    table = oracle.table(NameQuery(text, offset, str(workspace / name), str(workspace), language))
    members = table.names_for(Slot("member", self_word, "quan"))
    assert members is not None and set(members.names) == expected


@pytest.mark.parametrize("language", ["go", "c", "rust"])
def test_languages_without_a_known_member_scope_decode_freely(language):
    assert oracle_for(language) is None


# ----- the name service -------------------------------------------------------------------------
def test_typing_on_the_same_line_reuses_the_table(workspace):
    service = NameService()
    try:
        first = service.table(query(workspace, CART, "del self.quan"))
        typed = CART.replace("del self.quan", "del self.quant")
        assert service.table(query(workspace, typed, "del self.quant")) is first
        rewritten = CART.replace("del self.quan", "self.quan")  # the same slot, other text before it
        assert service.table(query(workspace, rewritten, "sku: str) -> None:\n        self.quan")) is first
        assert first.result(timeout=60).names_for(Slot("member", "self", "quan")) is not None
        elsewhere = CART.replace("del self.quan", "x = apply(a, b")  # another slot on the line
        assert service.table(query(workspace, elsewhere, "apply(a, b")) is not first
        other = CART.replace("self.prices = {}", "self.prices = {}\n        self.total = 0")
        assert service.table(query(workspace, other, "del self.quan")) is not first
    finally:
        service.shutdown(wait=True)


def test_a_table_superseded_before_it_starts_is_not_computed(workspace):
    service = NameService()
    try:
        import threading

        gate = threading.Event()
        service.in_background(gate.wait)  # the names thread is busy
        waiting = service.table(query(workspace, CART, "del self.quan"))
        newer = service.table(query(workspace, CART.replace("del self.quan", "x = apply(a, b"), "apply(a, b"))
        gate.set()
        assert waiting.cancelled()
        assert newer.result(timeout=60) is not None
        again = service.table(query(workspace, CART, "del self.quan"))  # asked again: computed now
        assert again is not waiting and again.result(timeout=60).names_for(Slot("member", "self", "quan")) is not None
    finally:
        service.shutdown(wait=True)


def test_the_setting_is_on_by_default_and_can_be_turned_off():
    assert FiresideConfig().name_guidance is True
    config, problems = merge_config(FiresideConfig(), {"nameGuidance": False})
    assert config.name_guidance is False and not problems


# ----- the guided choice ------------------------------------------------------------------------
VOCAB = ["<end>", "quan", "ities", "tities", "ti", "ties", "ies", "[", "ities[", " ", "(", "quantities", "disc", "ount", "_rate", "=", "==", ")", "\xc3"]
END = 0
PARTIAL = len(VOCAB) - 1


class FakeVocab(VocabText):
    """The last token is the first byte of a two-byte character (not text on its own)."""

    def __init__(self) -> None:
        super().__init__(lambda token: b"\xc3" if token == PARTIAL else VOCAB[token].encode(), len(VOCAB))


def logits_for(*ranked: str) -> numpy.ndarray:
    """Logits that rank the given tokens first, in this order; every other token far below."""
    logits = numpy.full(len(VOCAB), -10.0, dtype=numpy.float32)
    for rank, piece in enumerate(ranked):
        logits[VOCAB.index(piece)] = 10.0 - rank
    return logits


def chooser(lead: str, table: NameTable) -> GuidedChooser:
    return GuidedChooser(NameGuide(lead, table), FakeVocab(), lambda token: token == END)


MEMBERS = NameTable(members={"self": NameSet(["quantities", "prices", "add"])})


def test_the_model_keeps_its_choice_when_it_names_what_exists():
    pick = chooser("        del self.", MEMBERS)
    choice = pick.choose(logits_for("quantities", "quan"), [], "")
    assert VOCAB[choice.token] == "quantities" and choice.margin == pytest.approx(1.0)
    assert not pick.changes


def test_the_best_token_that_keeps_the_name_valid_wins():
    pick = chooser("        del self.quan", MEMBERS)
    first = pick.choose(logits_for("ities", "ities[", "ti", "tities"), [], "")
    assert VOCAB[first.token] == "ti"  # "quanities" and "quanities[" do not exist
    second = pick.choose(logits_for("ies", "<end>", "ties"), [], "ti")
    assert VOCAB[second.token] == "ties"  # the model wrote half a name: it may not stop there
    assert [(change.model, change.chosen) for change in pick.changes] == [("ities", "ti"), ("ies", "ties")]
    assert pick.guided_positions == 2


def test_a_whole_name_may_be_followed_by_other_text_and_the_end():
    pick = chooser("        del self.", MEMBERS)
    assert VOCAB[pick.choose(logits_for("<end>", "quan"), [], "").token] == "<end>"  # nothing is not wrong
    after = chooser("        del self.quantities", MEMBERS)
    assert VOCAB[after.choose(logits_for("[", "ities"), [], "").token] == "["  # the name is whole: free


def test_when_no_top_candidate_fits_every_spelling_of_a_valid_name_is_searched():
    logits = numpy.arange(len(VOCAB), dtype=numpy.float32)[::-1].copy()  # the first tokens best
    logits[VOCAB.index("ti")] = -50.0
    logits[VOCAB.index("tities")] = -40.0
    logits[VOCAB.index("ties")] = -60.0
    logits[END] = -70.0
    pick_all = GuidedChooser(NameGuide("        del self.quan", MEMBERS), FakeVocab(), lambda token: token == END)
    import fireside.completion.guidance as guidance

    top, guidance.TOP_CANDIDATES = guidance.TOP_CANDIDATES, 4  # "ti"/"tities" are not among the best 4
    try:
        choice = pick_all.choose(logits, [], "")
    finally:
        guidance.TOP_CANDIDATES = top
    assert VOCAB[choice.token] == "tities" and choice.margin == pytest.approx(10.0)


def test_a_keyword_argument_must_be_a_parameter():
    table = NameTable(calls={"apply_discount": NameSet(["discount", "total"], keywords=["discount_rate", "amount"])})
    pick = chooser("price = apply_discount(total, disc", table)
    after_ount = pick.choose(logits_for("=", "==", "_rate"), [], "ount")
    assert VOCAB[after_ount.token] == "=="  # "discount" exists, but it is no keyword parameter
    assert VOCAB[chooser("price = apply_discount(total, discount", table).choose(logits_for(")"), [], "").token] == ")"


def test_after_import_without_its_space_the_name_in_the_next_token_is_checked():
    table = NameTable(imports={"shop": NameSet(["cart", "catalog"])})
    VOCAB.extend([" quan", " cart"])
    try:
        pick = chooser("from shop import", table)
        assert VOCAB[pick.choose(logits_for(" quan", " cart"), [], "").token] == " cart"  # no member "quan..."
        assert VOCAB[pick.choose(logits_for("(", " quan"), [], "").token] == "("  # no name in this token
    finally:
        del VOCAB[-2:]


def test_positions_outside_slots_and_unknown_slots_stay_greedy():
    pick = chooser("    x = ", MEMBERS)
    assert VOCAB[pick.choose(logits_for("ities"), [], "").token] == "ities"
    unknown = chooser("    other.quan", MEMBERS)
    assert VOCAB[unknown.choose(logits_for("ities"), [], "").token] == "ities"
    assert pick.guided_positions == unknown.guided_positions == 0
