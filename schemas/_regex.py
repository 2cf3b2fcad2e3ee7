"""Translate Python ``re`` patterns into the regex dialect llguidance accepts.

Pydantic passes ``pattern=`` strings through unchanged, so they are Python regexes.
llguidance's regex engine is a derivative-based DFA over Rust ``regex-syntax``: it has
no lookarounds, backreferences or word boundaries, and spells the string anchors
``\\A``/``\\Z`` as ``^``/``$``. Patterns using what it lacks are reported and left to
validation after decoding. No library does this check, so it is written here.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Literal

Dialect = Literal["python", "rust"]

# Constructs a DFA cannot express. Python's own parser tells us they are there.
_UNSUPPORTED = (
    (re.compile(r"\(\?<?[=!]"), "lookaround"),
    (re.compile(r"\\[1-9]|\(\?P=\w+\)"), "backreference"),
    (re.compile(r"\(\?\(\w+\)"), "conditional group"),
    (re.compile(r"\(\?[aiLmsux]+\)|\(\?[aiLmsux-]+:"), "inline flag"),
    (re.compile(r"\\[bB]"), "word boundary"),
)


@dataclass(frozen=True)
class RegexTranslation:
    """The engine pattern, or the reason there is none."""

    pattern: str | None
    problem: str | None = None


def translate_pattern(pattern: str, dialect: Dialect = "python") -> RegexTranslation:
    """Return an engine-ready pattern, or why there cannot be one.

    ``dialect`` is whose meaning of ``\\d``/``\\w``/``\\s`` the validator uses: Python's
    ``re`` (``jsonschema``; Pydantic with ``regex_engine="python-re"``) or Rust's
    ``regex`` crate (Pydantic's default engine). Both are Unicode-aware, differently.
    """
    if dialect == "python":
        # A Rust-dialect pattern was already compiled by Pydantic; Python's re would
        # reject Rust-only syntax such as \\z.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # see _validate.py
                re.compile(pattern)
        except re.error as exc:
            return RegexTranslation(None, f"not a valid Python regex: {exc}")
    for finder, name in _UNSUPPORTED:
        if finder.search(_strip_escaped_backslashes(pattern)):
            return RegexTranslation(None, f"uses a {name}, which a grammar cannot express")
    return RegexTranslation(_rewrite_escapes(pattern, _TABLES[dialect]))


# llguidance reads \\d, \\w and \\s as ASCII classes; the validators read them as
# Unicode ones. Spell out the validator's meaning so both accept the same strings.
_PY_OUTSIDE = {
    "d": "\\p{Nd}",
    "D": "\\P{Nd}",
    "w": "[\\p{L}\\p{N}_]",
    "W": "[^\\p{L}\\p{N}_]",
    # Python's \\s also counts the separators \\x1c-\\x1f as space (str.isspace).
    "s": "[\\p{White_Space}\\x1c-\\x1f]",
    "S": "[^\\p{White_Space}\\x1c-\\x1f]",
    "A": "^",
    "Z": "$",
}
# Inside [...] a class is spelled without its own brackets; negated ones (\\W) are
# left alone there, as no union of properties spells them.
_PY_INSIDE = {"d": "\\p{Nd}", "w": "\\p{L}\\p{N}_", "s": "\\p{White_Space}\\x1c-\\x1f"}

# Rust's regex crate: \\w is UTS#18 "word" (letters, marks, digits, connectors).
_RUST_WORD = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}"
_RUST_OUTSIDE = {
    "d": "\\p{Nd}",
    "D": "\\P{Nd}",
    "w": f"[{_RUST_WORD}]",
    "W": f"[^{_RUST_WORD}]",
    "s": "\\p{White_Space}",
    "S": "\\P{White_Space}",
    "A": "^",
    "z": "$",
}
_RUST_INSIDE = {"d": "\\p{Nd}", "w": _RUST_WORD, "s": "\\p{White_Space}"}

_TABLES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "python": (_PY_OUTSIDE, _PY_INSIDE),
    "rust": (_RUST_OUTSIDE, _RUST_INSIDE),
}


def _rewrite_escapes(pattern: str, tables: tuple[dict[str, str], dict[str, str]]) -> str:
    outside, inside = tables
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            letter = pattern[i + 1]
            table = inside if in_class else outside
            out.append(table.get(letter, pattern[i : i + 2]))
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
            out.append(ch)
            # A "]" right after "[" or "[^" is a literal member, not the end.
            j = i + 1
            if pattern[j : j + 1] == "^":
                out.append("^")
                j += 1
            if pattern[j : j + 1] == "]":
                out.append("]")
                j += 1
            i = j
            continue
        if ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)


def _strip_escaped_backslashes(pattern: str) -> str:
    return pattern.replace("\\\\", "")
