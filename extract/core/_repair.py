"""Free-text model output -> a JSON value, repaired where that loses nothing.

Models without a grammar wrap JSON in markdown fences and prose, leave trailing
commas, print Python literals (``'single quotes'``, ``True``, ``None``) and add
comments. Those are repaired: first the standard ``json`` parser, then Python's own
literal parser (exact for Python reprs), then ``json_repair`` for the rest.

Comments and trailing commas are removed by a scan that knows strings, before any
library is asked: ``json_repair`` decodes some escapes wrongly while repairing (a
``\\f`` in a string came back as the two characters backslash and f), so it is
the last resort. What is refused rather than guessed: empty output, output with no JSON in it, and
output cut off inside a JSON object or array. ``json_repair`` would close the
brackets of a truncated answer and return whatever was complete, silently losing
the rest, so truncation is detected here first (a bracket scan that knows strings
and comments: small, and no library exposes it).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

import json_repair

from ._errors import ExtractError

Unrepairable = Literal["empty", "no_json", "truncated"]


@dataclass(frozen=True)
class Repaired:
    """A JSON value recovered from model output, and what had to be fixed."""

    value: Any
    text: str  # the value as compact JSON
    fixes: tuple[str, ...]  # empty when the output was valid JSON as it stood


class UnrepairableOutputError(ExtractError, ValueError):
    """The output holds no JSON value that can be recovered without guessing."""

    def __init__(self, reason: Unrepairable, message: str) -> None:
        super().__init__(message)
        self.reason = reason


_FENCE = re.compile(r"```[ \t]*[A-Za-z0-9_-]*[ \t]*\r?\n(.*?)(?:\r?\n[ \t]*```|\Z)", re.DOTALL)


def repair_json(text: str) -> Repaired:
    """The JSON value in ``text``; raises ``UnrepairableOutputError`` saying why not."""
    stripped = text.strip()
    if not stripped:
        raise UnrepairableOutputError("empty", "the output is empty")
    parsed = _strict(stripped)
    if parsed is not None:
        return Repaired(parsed[0], _compact(parsed[0]), ())
    fixes: list[str] = []
    candidate = stripped
    fence = _FENCE.search(stripped)
    if fence:
        candidate = fence.group(1).strip()
        fixes.append("removed a markdown fence")
        if stripped[: fence.start()].strip() or stripped[fence.end() :].strip():
            fixes.append("removed prose around the JSON")
        parsed = _strict(candidate)
        if parsed is not None:
            return Repaired(parsed[0], _compact(parsed[0]), tuple(fixes))
    spans = _json_spans(candidate)
    span, parsed = spans[0], None
    how: list[str] = []
    # Prose may hold braces too ("{ see below }"): the longest span that parses
    # exactly wins; json_repair gets the longest only if none does.
    for each in spans:
        parsed, how = _exact(each)
        if parsed is not None:
            span = each
            break
    if span != candidate and "removed prose around the JSON" not in fixes:
        fixes.append("removed prose around the JSON")
    fixes.extend(how)
    if parsed is None:
        value, log = json_repair.repair_json(span, return_objects=True, logging=True)
        if value == "" and span.strip() not in ('""', "''"):
            raise UnrepairableOutputError("no_json", f"no JSON value found in {text[:80]!r}")
        parsed = (value,)
        fixes.extend(_describe(entry) for entry in log)
    return Repaired(parsed[0], _compact(parsed[0]), tuple(dict.fromkeys(fixes)))


def _exact(span: str) -> tuple[tuple[Any] | None, list[str]]:
    """``span`` parsed without guessing: as JSON, as JSON less comments and trailing
    commas, or as a Python literal; with what had to be done."""
    parsed = _strict(span)
    if parsed is not None:
        return parsed, []
    cleaned, removed = _drop_comments_and_trailing_commas(span)
    parsed = _strict(cleaned) if removed else None
    if parsed is not None:
        return parsed, removed
    parsed = _python_literal(span)
    if parsed is not None:
        return parsed, ["read Python literal syntax (quotes, True/False/None)"]
    return None, []


def _strict(text: str) -> tuple[Any] | None:
    try:
        return (json.loads(text),)
    except ValueError:
        return None


def _python_literal(text: str) -> tuple[Any] | None:
    if not text.startswith(("{", "[")):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return (value,) if _is_json(value) else None


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False  # tuples, sets, bytes, complex: not what a JSON answer means


def _describe(entry: Any) -> str:
    if isinstance(entry, dict):
        return f"json_repair: {entry.get('text', entry)}"
    return f"json_repair: {entry}"


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_OPEN = {"{": "}", "[": "]"}


def _drop_comments_and_trailing_commas(text: str) -> tuple[str, list[str]]:
    """``text`` without ``//``/``/* */`` comments and commas before a closing bracket."""
    out: list[str] = []
    removed: list[str] = []
    quote = ""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\":
                out.append(text[i : i + 2])
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            removed.append("removed comments")
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            removed.append("removed comments")
            continue
        elif ch == "," and _next_significant(text, i + 1) in ("}", "]"):
            removed.append("removed trailing commas")
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out), list(dict.fromkeys(removed))


def _next_significant(text: str, i: int) -> str:
    """The next character after whitespace and comments, or "" at the end."""
    n = len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            return text[i]
    return ""


# Inside brackets: strings (closed, or running to the end), comments, and brackets.
# A regex walks them much faster than a loop over characters.
_TOKEN = re.compile(
    r"""(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
    r"""|(?P<open_string>["'](?:[^\\]|\\.)*\\?\Z)"""
    r"""|//[^\n]*|\#[^\n]*|/\*.*?(?:\*/|\Z)"""
    r"""|(?P<bracket>[{}\[\]])""",
    re.DOTALL,
)
_OPENER = re.compile(r"[{\[]")


def _json_spans(text: str) -> list[str]:
    """The bracketed top-level spans of ``text``, longest first, or ``[text]`` if none.

    Raises ``UnrepairableOutputError`` when the text ends inside an object or array
    that is longer than every complete one: the answer was cut off. Quotes count only
    inside brackets: an apostrophe in the prose around the JSON starts no string.
    """
    spans: list[tuple[int, int]] = []
    n = len(text)
    pos = 0
    start = -1  # where an unclosed span begins, if one does
    while (opener := _OPENER.search(text, pos)) is not None:
        depth = 0
        start = opener.start()
        for token in _TOKEN.finditer(text, start):
            if token.group("open_string") is not None:
                break  # a string runs to the end of the text: cut off inside it
            bracket = token.group("bracket")
            if bracket is None:
                continue
            depth += 1 if bracket in _OPEN else -1  # a mismatched closer still closes
            if depth == 0:
                spans.append((start, token.end()))
                pos = token.end()
                start = -1
                break
        if start >= 0:
            break
    stack = start >= 0
    spans.sort(key=lambda s: s[0] - s[1])  # longest first; ties keep text order
    longest = spans[0] if spans else None
    if stack and (longest is None or n - start > longest[1] - longest[0]):
        raise UnrepairableOutputError(
            "truncated",
            f"the output ends inside an unclosed JSON {'object' if text[start] == '{' else 'array'}"
            " (cut off?)",
        )
    if longest is None:
        return [text]
    return [text[a:b] for a, b in spans]
