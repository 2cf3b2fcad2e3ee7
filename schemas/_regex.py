"""Translate Python ``re`` patterns into the regex dialect llguidance accepts.

Pydantic passes ``pattern=`` strings through unchanged, so they are Python regexes.
llguidance's regex engine is a derivative-based DFA: it has no lookarounds and no
backreferences, and its ``\\d``/``\\w``/``\\s`` are Unicode-wide unless told otherwise.
No library does this translation, so it is written here, small and property-tested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Constructs a DFA cannot express. Python's own parser tells us they are there.
_UNSUPPORTED = (
    (re.compile(r"\(\?<?[=!]"), "lookaround"),
    (re.compile(r"\\[1-9]|\(\?P=\w+\)"), "backreference"),
    (re.compile(r"\(\?\(\w+\)"), "conditional group"),
    (re.compile(r"\(\?[aiLmsux]+\)|\(\?[aiLmsux-]+:"), "inline flag"),
    (re.compile(r"\\[AZbB]"), "anchor other than ^ and $"),
)

# Python's shorthand classes in their ASCII meaning: JSON strings rarely need
# Unicode digits, and the ASCII forms keep the grammar small.
_CLASSES = {
    "d": "0-9",
    "w": "a-zA-Z0-9_",
    "s": " \\t\\n\\r\\f\\v",
}


# "Anything", newlines included, for the unanchored sides of a search pattern.
_ANY = "(?s:.*)"


@dataclass(frozen=True)
class RegexTranslation:
    """The engine pattern, or the reason there is none."""

    pattern: str | None
    problem: str | None = None


def translate_pattern(pattern: str) -> RegexTranslation:
    """Return an engine-ready pattern for a Python regex, or why it cannot be one.

    JSON Schema ``pattern`` is unanchored (a search), so an unanchored side is
    padded with ``.*``; llguidance matches the whole string.
    """
    try:
        re.compile(pattern)
    except re.error as exc:
        return RegexTranslation(None, f"not a valid Python regex: {exc}")
    for finder, name in _UNSUPPORTED:
        if finder.search(_strip_escaped_backslashes(pattern)):
            return RegexTranslation(None, f"uses a {name}, which a grammar cannot express")
    body = _expand_classes(pattern)
    body = _strip_anchors(body)
    return RegexTranslation(body)


def _strip_escaped_backslashes(pattern: str) -> str:
    return pattern.replace("\\\\", "")


def _expand_classes(pattern: str) -> str:
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            low = nxt.lower()
            if low in _CLASSES:
                chars = _CLASSES[low]
                if nxt.isupper():
                    # Negated shorthand: fine alone, but not inside another class.
                    out.append(f"[^{chars}]" if not in_class else pattern[i : i + 2])
                else:
                    out.append(chars if in_class else f"[{chars}]")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class and out and out[-1] != "[" and out[-1] != "[^":
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)


def _strip_anchors(body: str) -> str:
    """Turn search semantics into full-match semantics."""
    alternatives_at_top = _has_top_level_alternation(body)
    if alternatives_at_top:
        body = f"(?:{body})" if not (body.startswith("^") or body.endswith("$")) else body
    starts = body.startswith("^")
    ends = body.endswith("$") and not body.endswith("\\$")
    if alternatives_at_top and (starts or ends):
        # "^a|b$" anchors only one branch each; keep it exact by wrapping each side.
        return f"(?:{_search_branches(body)})"
    core = body[1 if starts else 0 : len(body) - 1 if ends else len(body)]
    return f"{'' if starts else _ANY}(?:{core}){'' if ends else _ANY}"


def _search_branches(body: str) -> str:
    branches = _split_top_level(body)
    wrapped = []
    for branch in branches:
        starts = branch.startswith("^")
        ends = branch.endswith("$") and not branch.endswith("\\$")
        core = branch[1 if starts else 0 : len(branch) - 1 if ends else len(branch)]
        wrapped.append(f"{'' if starts else _ANY}(?:{core}){'' if ends else _ANY}")
    return "|".join(wrapped)


def _has_top_level_alternation(body: str) -> bool:
    return len(_split_top_level(body)) > 1


def _split_top_level(body: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    in_class = False
    start = 0
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            if body[i + 1 : i + 2] == "]":
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(body[start:i])
            start = i + 1
        i += 1
    parts.append(body[start:])
    return parts
