"""Planning KV reuse: the common prefix, and chunks of the old cache that reappear at new positions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fireside.completion.kv_reuse import Move, ReusePlan, plan_reuse, shift_order

PREFIX, SUFFIX, MIDDLE = 900, 901, 902  # stand-ins for the FIM markers


def fim(prefix: list[int], suffix: list[int]) -> list[int]:
    return [PREFIX, *prefix, SUFFIX, *suffix, MIDDLE]


def test_a_typed_token_keeps_the_suffix_by_moving_it_forward():
    before = fim(list(range(100, 140)), list(range(200, 260)))
    generated = [7, 8, 9]  # the last completion's tokens are cached after the prompt
    after = fim([*range(100, 140), 55], list(range(200, 260)))
    plan = plan_reuse(before + generated, after, min_chunk=8)
    assert plan.prefix == 41  # <fim_prefix> and the 40 unchanged tokens
    assert plan.moves == (Move(source=41, target=42, length=62),)  # <fim_suffix>, suffix, <fim_middle>
    assert plan.reused == len(after) - 1  # only the typed token is left to evaluate
    assert plan.segments(len(after)) == [(False, 41, 42), (True, 42, 104)]
    assert plan.dropped(len(before + generated)) == [(103, 106)]  # the old completion


def test_a_deleted_token_moves_the_suffix_back():
    before = fim(list(range(100, 140)), list(range(200, 260)))
    after = fim(list(range(100, 139)), list(range(200, 260)))
    plan = plan_reuse(before, after, min_chunk=8)
    assert plan.prefix == 40
    assert plan.moves == (Move(41, 40, 62),)
    assert plan.moves[0].shift == -1
    assert plan.segments(len(after)) == [(True, 40, 102)]
    assert plan.dropped(len(before)) == [(40, 41)]


def test_a_changed_token_in_the_middle_of_the_prefix():
    old = list(range(100, 200))
    new = old[:50] + [5, 6] + old[51:]
    plan = plan_reuse(old, new, min_chunk=8)
    assert plan.prefix == 50
    assert plan.moves == (Move(51, 52, 49),)
    assert plan.segments(len(new)) == [(False, 50, 52), (True, 52, 101)]


def test_short_runs_are_evaluated_again():
    old = list(range(100, 130))
    new = [1, 2, 3, *old[10:15], 4, 5, 6]  # 5 tokens in common, below the chunk size
    plan = plan_reuse(old, new, min_chunk=8)
    assert plan == ReusePlan(0, ())
    assert plan.segments(len(new)) == [(False, 0, len(new))]


def test_min_chunk_zero_keeps_the_prefix_only():
    old = fim(list(range(100, 140)), list(range(200, 260)))
    new = fim([*range(100, 140), 55], list(range(200, 260)))
    assert plan_reuse(old, new, min_chunk=0) == ReusePlan(41, ())


def test_the_longest_occurrence_wins_over_the_first():
    pattern = list(range(10, 18))  # occurs twice in the cache; only the second one goes on
    old = [1, *pattern, 2, 3, *pattern, 40, 41, 42, 43]
    new = [9, *pattern, 40, 41, 42, 43]
    plan = plan_reuse(old, new, min_chunk=8)
    assert plan.moves == (Move(source=11, target=1, length=12),)


def test_an_identical_prompt_is_all_prefix():
    tokens = list(range(50))
    assert plan_reuse(tokens, tokens) == ReusePlan(50, ())
    assert plan_reuse(tokens + [1, 2], tokens) == ReusePlan(50, ())


def test_shift_order_moves_backward_chunks_first_from_the_front_then_forward_ones_from_the_back():
    moves = [Move(10, 5, 3), Move(20, 14, 3), Move(30, 33, 3), Move(40, 45, 3), Move(50, 50, 3)]
    assert shift_order(moves) == [Move(10, 5, 3), Move(20, 14, 3), Move(40, 45, 3), Move(30, 33, 3)]


@st.composite
def edits(draw):
    """A cached token list (a prompt and a completion) and a new prompt made of its pieces: some
    kept, some removed, new tokens inserted between them."""
    old = draw(st.lists(st.integers(0, 6), min_size=0, max_size=80))
    new: list[int] = []
    position = 0
    while position < len(old):
        step = draw(st.integers(1, 20))
        if draw(st.booleans()):
            new.extend(old[position : position + step])
        position += step
        new.extend(draw(st.lists(st.integers(0, 9), max_size=4)))
    return old, new


@settings(max_examples=300, deadline=None)
@given(edits(), st.integers(1, 6))
def test_any_plan_keeps_only_matching_tokens_and_its_moves_never_collide(case, min_chunk):
    old, new = case
    plan = plan_reuse(old, new, min_chunk=min_chunk)
    assert old[: plan.prefix] == new[: plan.prefix]
    previous_source_end, previous_target_end = plan.prefix, plan.prefix
    for move in plan.moves:
        assert move.length >= min_chunk
        assert old[move.source : move.source + move.length] == new[move.target : move.target + move.length]
        assert move.source >= previous_source_end and move.target >= previous_target_end
        previous_source_end, previous_target_end = move.source + move.length, move.target + move.length
    # The runs cover the prompt exactly once, in order.
    covered = [position for _, start, end in plan.segments(len(new)) for position in range(start, end)]
    assert covered == list(range(plan.prefix, len(new)))
    # Shifting in shift_order never lands a chunk on cells another chunk still occupies.
    kept_cells = {p: ("prefix", p) for p in range(plan.prefix)}
    for index, move in enumerate(plan.moves):
        for offset in range(move.length):
            kept_cells[move.source + offset] = (index, offset)
    cells = {position: owner for position, owner in kept_cells.items()}
    for move in shift_order(plan.moves):
        index = plan.moves.index(move)
        moving = {p: o for p, o in cells.items() if move.source <= p < move.source + move.length}
        assert all(owner[0] == index for owner in moving.values()), "the range holds another chunk's cells"
        for position in moving:
            del cells[position]
        for position, owner in moving.items():
            assert position + move.shift not in cells, "a moved cell landed on an occupied position"
            cells[position + move.shift] = owner
    for index, move in enumerate(plan.moves):
        for offset in range(move.length):
            assert cells[move.target + offset] == (index, offset)
