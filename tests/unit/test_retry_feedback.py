"""What a retry is told, and whether retries change the answer at all."""

from __future__ import annotations

import json
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from extract.backends import Completion, Message
from extract.core._prompt import build_messages, repair_messages
from extract.core._result import Attempt, Usage, changed_retries

values = st.recursive(
    st.none() | st.integers(-3, 3) | st.sampled_from(["a", "b"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("xy"), inner),
    max_leaves=6,
)


def attempt(raw: str) -> Attempt:
    return Attempt(raw, ("/x: wrong",), False, Usage(), 0.0)


@given(st.lists(st.tuples(values, st.booleans()), min_size=1, max_size=6))
def test_a_retry_counts_as_changed_only_when_its_value_differs(
    answers: list[tuple[object, bool]],
) -> None:
    # The same value spaced differently is the same answer.
    raws = [json.dumps(v, indent=2 if wide else None) for v, wide in answers]
    expected = sum(1 for (a, _), (b, _) in pairwise(answers) if a != b)
    assert changed_retries([attempt(r) for r in raws]) == expected


def test_text_that_is_not_json_is_compared_as_text() -> None:
    assert changed_retries([attempt("{"), attempt("{"), attempt("{}"), attempt("{ }")]) == 1


def messages() -> tuple[Message, ...]:
    return build_messages({"type": "object"}, "doc", instructions=None, examples=(), target=dict)


def answer(text: str) -> Completion:
    return Completion(text, "stop", prompt_tokens=10, completion_tokens=5)


def test_errors_below_the_root_ask_to_keep_the_rest() -> None:
    asked = repair_messages(
        messages(),
        answer('{"items":[{"quantity":0}]}'),
        ["/items/0/quantity: Input should be greater than or equal to 1"],
    )
    feedback = asked[-1].content
    assert "Only these parts of that JSON are wrong" in feedback
    assert "- /items/0/quantity: Input should be greater" in feedback
    assert "Keep every other value as it was" in feedback


def test_an_answer_wrong_as_a_whole_is_asked_again_whole() -> None:
    for errors in (["/: Input should be a valid list"], ["not valid JSON: Expecting value"]):
        asked = repair_messages(messages(), answer("{}"), errors)
        assert "Keep every other value" not in asked[-1].content
        assert "not valid for the schema" in asked[-1].content
