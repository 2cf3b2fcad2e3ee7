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


def translate_pattern(pattern: str) -> RegexTranslation:
    """Return an engine-ready pattern for a Python regex, or why it cannot be one.

    ``\\A`` and ``\\Z`` become ``^`` and ``$``; the rest of the syntax is shared.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # see _validate.py
            re.compile(pattern)
    except re.error as exc:
        return RegexTranslation(None, f"not a valid Python regex: {exc}")
    for finder, name in _UNSUPPORTED:
        if finder.search(_strip_escaped_backslashes(pattern)):
            return RegexTranslation(None, f"uses a {name}, which a grammar cannot express")
    # Anchors stay: llguidance gives ``pattern`` JSON Schema's search semantics itself.
    return RegexTranslation(_rewrite_escapes(pattern))


# llguidance reads \\d, \\w and \\s as ASCII classes; Python (str patterns) reads them
# as Unicode ones. Spell out the Unicode meaning so both accept the same strings.
_OUTSIDE = {
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
_INSIDE = {"d": "\\p{Nd}", "w": "\\p{L}\\p{N}_", "s": "\\p{White_Space}\\x1c-\\x1f"}


def _rewrite_escapes(pattern: str) -> str:
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            letter = pattern[i + 1]
            table = _INSIDE if in_class else _OUTSIDE
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
