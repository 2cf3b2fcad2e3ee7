"""The loop detector of the local decoder, on token sequences."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backends.llamacpp import LOOP_COPIES, LOOP_MAX_SPAN, LOOP_MIN_SPAN, repeating

tokens = st.lists(st.integers(0, 50), max_size=60)


@given(prefix=tokens, span=st.lists(st.integers(0, 50), min_size=LOOP_MIN_SPAN, max_size=40))
def test_a_span_written_three_times_is_found(prefix: list[int], span: list[int]) -> None:
    out = prefix + span * LOOP_COPIES
    found = repeating(out)
    assert LOOP_MIN_SPAN <= found <= len(span)  # the span, or a shorter period within it
    tail = out[-found:]
    assert all(out[-(k + 1) * found : len(out) - k * found] == tail for k in range(LOOP_COPIES))


@given(prefix=tokens, span=st.lists(st.integers(0, 50), min_size=LOOP_MIN_SPAN, max_size=40))
def test_two_copies_are_not_a_loop(prefix: list[int], span: list[int]) -> None:
    out = prefix + span * 2
    found = repeating(out)
    if found:  # only if the sequence itself holds a shorter three-fold loop
        tail = out[-found:]
        assert all(out[-(k + 1) * found : len(out) - k * found] == tail for k in range(3))


def test_short_runs_and_distinct_text_are_left_alone() -> None:
    assert repeating([7] * (LOOP_MIN_SPAN * LOOP_COPIES - 1)) == 0
    assert repeating(list(range(500))) == 0
    long_span = list(range(LOOP_MAX_SPAN + 1))
    assert repeating(long_span * LOOP_COPIES) == 0  # longer than any span we compare
