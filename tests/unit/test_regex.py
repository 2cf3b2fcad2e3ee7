"""Python ``pattern`` semantics survive translation: the grammar accepts a string
exactly when ``re.search`` finds the pattern in it."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Annotated, Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import Field, TypeAdapter, ValidationError

import extract.schemas as schemas
from tests.grammar_tools import accepts, representable

PATTERNS = [
    r"^\d{2,3}$",
    r"\d",
    r"^\w+$",
    r"^[\w.-]+@[\w-]+\.\w+$",
    r"^\s*\S+\s*$",
    r"^(cat|dog)s?$",
    r"a|^b",
    r"\Aabc\Z",
    r"^[^\d]*$",
    r"^[]x]+$",
    r"^\D+$",
]
# Characters Python's Unicode database does not know yet (category Cn) are left out:
# llguidance's tables are newer (U+11BC0, a letter since Unicode 16, is \w there and
# not to Python 3.11's re), and no translation can bridge two Unicode versions.
TEXT = st.text(
    alphabet=st.sampled_from(list("ab c1٣_x]@.-é\tZ中"))
    | st.characters(codec="utf-8").filter(lambda c: unicodedata.category(c) != "Cn"),
    max_size=8,
)


@settings(max_examples=40)
@pytest.mark.parametrize("pattern", PATTERNS)
@given(text=TEXT)
def test_grammar_matches_python_search(tokenizer: Any, pattern: str, text: str) -> None:
    # llguidance wants DEL escaped inside JSON strings; JSON allows both spellings.
    encoded = json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
    assume(representable(tokenizer, encoded))
    compiled = schemas.compile_schema({"type": "string", "pattern": pattern})
    assert not compiled.report.degraded
    expected = re.search(pattern, text) is not None
    assert accepts(tokenizer, compiled.grammar, encoded) == expected


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        (r"(?<=a)b", "lookaround"),
        (r"a(?!b)", "lookaround"),
        (r"(a)\1", "backreference"),
        (r"(?P<x>a)(?P=x)", "backreference"),
        (r"\bword\b", "word boundary"),
    ],
)
def test_inexpressible_patterns_are_reported(pattern: str, problem: str) -> None:
    result = schemas.translate_pattern(pattern)
    assert result.pattern is None
    assert result.problem is not None and problem in result.problem
    compiled = schemas.compile_schema({"type": "string", "pattern": pattern})
    assert any(c.keyword == "pattern" for c in compiled.report.validated_after)


def test_invalid_regex_is_a_clear_error() -> None:
    assert "not a valid Python regex" in (schemas.translate_pattern("(").problem or "")
    with pytest.raises(schemas.SchemaError, match="regex"):
        schemas.compile_schema({"type": "string", "pattern": "("})


def test_escaped_backslash_is_not_a_class() -> None:
    assert schemas.translate_pattern(r"\\d").pattern == r"\\d"


RUST_PATTERNS = [p for p in PATTERNS if "\\Z" not in p and "\\A" not in p] + [r"\Aabc\z"]


@settings(max_examples=40)
@pytest.mark.parametrize("pattern", RUST_PATTERNS)
@given(text=TEXT)
def test_grammar_matches_pydantic_default_engine(tokenizer: Any, pattern: str, text: str) -> None:
    """Pydantic's default engine is Rust's regex crate, whose \\w differs from Python's."""
    field = Annotated[str, Field(pattern=pattern)]
    encoded = json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
    assume(representable(tokenizer, encoded))
    adapter: TypeAdapter[str] = TypeAdapter(field)
    try:
        adapter.validate_python(text)
        expected = True
    except ValidationError:
        expected = False
    compiled = schemas.compile_schema(field)
    assert accepts(tokenizer, compiled.grammar, encoded) == expected
