"""Realistic damaged model output, each example labelled with what was done to it."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import strategies as st

from extract.core._options import compile_target
from extract.schemas import Invalid

from ._instances import json_values

Damage = Literal[
    "fenced",  # inside a markdown code fence
    "prose_before",  # a sentence before the JSON
    "prose_after",  # a sentence after it
    "trailing_commas",  # a comma before closing brackets
    "python_literals",  # printed as a Python literal: 'quotes', True, None
    "comments",  # // and /* */ comments between members
    "truncated",  # cut off before the end, as at a token limit
    "wrong_type",  # one value replaced by one of a type the schema refuses
    "missing_required",  # one key the schema requires taken out
]
Expected = Literal["repaired", "truncated", "invalid"]

REPAIRABLE: frozenset[Damage] = frozenset(
    {"fenced", "prose_before", "prose_after", "trailing_commas", "python_literals", "comments"}
)

_BEFORE = (
    "Here is the extracted record:",
    "Sure! Based on the text, the JSON is",
    "Certainly. Here's what I found:",
    "Output:",
)
_AFTER = (
    "Let me know if you need anything else.",
    "I hope this helps!",
    "Note: values were taken from the text as written.",
)


@dataclass(frozen=True)
class LLMOutput:
    """One damaged output: the text, what was done, and what a parser should do."""

    text: str
    damage: tuple[Damage, ...]
    value: Any  # the valid JSON value it was made from
    expected: Expected  # "repaired" to ``value``, or rejected as truncated or invalid


def llm_outputs(target: Any) -> st.SearchStrategy[LLMOutput]:
    """Model output for ``target`` as it really comes back from free-text models.

    Wrapping and syntax damage (fences, prose, trailing commas, Python literals,
    comments) must be repaired to an equal value; truncation must be rejected as
    truncated; a wrong type or a missing required key must be rejected as invalid.
    Every "invalid" example is checked against the target's validator, so the label
    is true, not hoped for.
    """
    validate = compile_target(target).validate
    return _damaged(json_values(target), validate)


@st.composite
def _damaged(draw: st.DrawFn, values: st.SearchStrategy[Any], validate: Any) -> LLMOutput:
    value = draw(values)
    damage: list[Damage] = []
    printed_value = value
    breaking: Damage | None = draw(
        st.sampled_from([None, None, None, "wrong_type", "missing_required"])
    )
    if breaking is not None:
        broken = _break(value, breaking, validate, draw)
        if broken is not None:
            printed_value = broken
            damage.append(breaking)
    # Only inside brackets can a cut, or prose around the value, be told apart from it.
    container = isinstance(printed_value, (dict, list))
    syntax: Damage | None = draw(
        st.sampled_from([None, "trailing_commas", "python_literals", "comments"])
    )
    if not container:
        syntax = None  # a bare string or number has no members to bend
    text = _serialize(printed_value, syntax)
    if syntax is not None:
        damage.append(syntax)
    truncated = container and draw(st.sampled_from([False, False, False, True]))
    if truncated:
        # Cut strictly inside the outermost brackets, as a token limit would.
        cut = draw(st.integers(1, len(text) - 1))
        text = text[:cut]
        damage.append("truncated")
    if draw(st.booleans()):
        text = f"```json\n{text}" + ("" if truncated else "\n```")
        damage.append("fenced")
    if container and draw(st.booleans()):
        text = f"{draw(st.sampled_from(_BEFORE))}\n{text}"
        damage.append("prose_before")
    if container and not truncated and draw(st.booleans()):
        text = f"{text}\n{draw(st.sampled_from(_AFTER))}"
        damage.append("prose_after")
    if not damage:
        text = f"```json\n{text}\n```"
        damage.append("fenced")
    expected: Expected = (
        "truncated" if truncated else "invalid" if printed_value is not value else "repaired"
    )
    return LLMOutput(text, tuple(damage), value, expected)


def _break(value: Any, how: Damage, validate: Any, draw: st.DrawFn) -> Any:
    """``value`` with one change that makes it invalid, or None if none does."""
    found = _wrong_types(value) if how == "wrong_type" else _removals(value)
    candidates = list(itertools.islice(found, _MAX_CANDIDATES))
    order = draw(st.permutations(range(len(candidates)))) if candidates else []
    for i in order[:20]:
        broken = candidates[i]
        if isinstance(validate(json.dumps(broken)), Invalid):
            return broken
    return None


_MAX_CANDIDATES = 200  # one change per node: enough choice without quadratic blow-up
_WRONG_FOR_SCALAR = {"unexpected": ["object"]}
_WRONG_FOR_CONTAINER = 12345


def _wrong_types(value: Any) -> Any:
    """Copies of ``value`` with one node replaced by a value of another JSON type."""
    yield _WRONG_FOR_CONTAINER if isinstance(value, (dict, list)) else _WRONG_FOR_SCALAR
    if isinstance(value, dict):
        for key, child in value.items():
            for changed in _wrong_types(child):
                yield {**value, key: changed}
    elif isinstance(value, list):
        for i, child in enumerate(value):
            for changed in _wrong_types(child):
                yield [*value[:i], changed, *value[i + 1 :]]


def _removals(value: Any) -> Any:
    """Copies of ``value`` with one object key taken out, anywhere."""
    if isinstance(value, dict):
        for key in value:
            yield {k: v for k, v in value.items() if k != key}
        for key, child in value.items():
            for changed in _removals(child):
                yield {**value, key: changed}
    elif isinstance(value, list):
        for i, child in enumerate(value):
            for changed in _removals(child):
                yield [*value[:i], changed, *value[i + 1 :]]


def _serialize(value: Any, syntax: Damage | None) -> str:
    if syntax == "python_literals":
        return repr(value)
    if syntax == "trailing_commas":
        return _dump(value, trailing=True, comments=False)
    if syntax == "comments":
        return _dump(value, trailing=False, comments=True)
    return json.dumps(value, ensure_ascii=False)


def _dump(value: Any, *, trailing: bool, comments: bool) -> str:
    """JSON with a trailing comma in every non-empty container, or with comments."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        members = [
            f"{json.dumps(k, ensure_ascii=False)}: {_dump(v, trailing=trailing, comments=comments)}"
            for k, v in value.items()
        ]
        return _wrap("{", "}", members, trailing=trailing, comments=comments)
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [_dump(v, trailing=trailing, comments=comments) for v in value]
        return _wrap("[", "]", items, trailing=trailing, comments=comments)
    return json.dumps(value, ensure_ascii=False)


def _wrap(open_: str, close: str, parts: list[str], *, trailing: bool, comments: bool) -> str:
    if comments:
        body = ",\n".join(f"/* item {i} */ {p}" for i, p in enumerate(parts))
        return f"{open_} // {len(parts)} members\n{body}\n{close}"
    return open_ + ", ".join(parts) + ("," if trailing else "") + close
