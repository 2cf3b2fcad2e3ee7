"""``pattern`` strings respelled for llama-cpp-python's JSON-Schema-to-grammar converter.

That converter (``llama_cpp.llama_grammar``, behind its server's tools and ``json_object``
modes) copies a pattern into GBNF almost character by character. GBNF knows only the
escapes ``\\x \\u \\U \\t \\n \\r \\\\ \\" \\[ \\]``, so ``\\d`` or ``\\w`` end in a grammar that
fails to parse, and the server then crashes on the request. It also asserts that a
pattern is anchored with ``^...$`` and has no ``(?`` groups.

So a pattern is parsed with Python's own regex parser and written again in the small
subset the converter handles: literals (letters, digits, space; any other character as a
one-character class spelled with ``\\uXXXX``), classes of ranges, ``.``, groups,
alternation and counted repetition, anchored at both ends (``.*`` where the original was
not: JSON Schema patterns search). The result never accepts a string the original
rejects: ``\\d``/``\\w``/``\\s`` become their ASCII classes, a subset of Python's Unicode
ones. What has no such spelling (lookarounds, backreferences, word boundaries, inline
flags, negated shorthand classes such as ``\\D``) gives ``None``: the caller leaves the
pattern out of the request and validates it after decoding. No library writes regexes
for this converter, hence this module.
"""

from __future__ import annotations

import functools
import re
import sys
import warnings
from typing import Any

if sys.version_info >= (3, 11):
    import re._constants as sre_constants  # type: ignore[import-not-found]  # no stubs
    import re._parser as sre_parse  # type: ignore[import-not-found]  # no stubs
else:  # pragma: no cover - Python 3.10 spells them sre_*
    import sre_constants
    import sre_parse

_C = sre_constants
_DIGIT = "0-9"
_WORD = "a-zA-Z0-9_"
_SPACE = "\\t\\n\\u000B\\u000C\\r\\u0020"
_CATEGORIES = {
    _C.CATEGORY_DIGIT: _DIGIT,
    _C.CATEGORY_WORD: _WORD,
    _C.CATEGORY_SPACE: _SPACE,
}
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_STARTS = (_C.AT_BEGINNING, _C.AT_BEGINNING_STRING)
_ENDS = (_C.AT_END, _C.AT_END_STRING)
_MOST_REPEATS = 1000
_LONGEST = 4096  # longer patterns make grammars the server takes seconds to build


class _Inexpressible(Exception):
    pass


@functools.lru_cache(maxsize=4096)
def server_pattern(pattern: str) -> str | None:
    """``pattern`` in the converter's subset, or ``None`` when it has no safe spelling."""
    if len(pattern) > _LONGEST:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FutureWarning on some set syntax
            parsed = list(sre_parse.parse(pattern))
        start = bool(parsed) and parsed[0][0] is _C.AT and parsed[0][1] in _STARTS
        end = bool(parsed) and parsed[-1][0] is _C.AT and parsed[-1][1] in _ENDS
        body = parsed[1 if start else 0 : len(parsed) - 1 if end else len(parsed)]
        if start and end and len(parsed) == 1:
            body = []  # "^" alone, or "$" alone: both anchors cannot come from one item
            end = parsed[0][1] in _ENDS
            start = not end
        inner = _sequence(body)
    except (_Inexpressible, re.error, RecursionError, OverflowError):
        return None
    prefix = "" if start else ".*"
    suffix = "" if end else ".*"
    return f"^{prefix}{inner}{suffix}$"


def _sequence(items: Any) -> str:
    return "".join(_item(op, arg) for op, arg in items)


def _item(op: Any, arg: Any) -> str:
    if op is _C.LITERAL:
        return _literal(arg)
    if op is _C.NOT_LITERAL:
        return f"[^{_class_char(arg)}]"
    if op is _C.ANY:
        return "."
    if op is _C.IN:
        return _class(arg)
    if op is _C.BRANCH:
        branches = [_sequence(b) for b in arg[1]]
        kept = [b for b in branches if b]
        if not kept:
            return ""
        alternation = "(" + "|".join(kept) + ")"
        return alternation + "?" if len(kept) < len(branches) else alternation
    if op is _C.SUBPATTERN:
        _group, add_flags, del_flags, items = arg
        if add_flags or del_flags:
            raise _Inexpressible("inline flags")
        inner = _sequence(items)
        if len(items) == 1 and items[0][0] is _C.BRANCH:
            return inner  # the alternation has its own parentheses
        return f"({inner})" if inner else ""
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT):
        low, high, items = arg
        if max(low, 0 if high is _C.MAXREPEAT else high) > _MOST_REPEATS:
            raise _Inexpressible("a count the converter unrolls into a huge grammar")
        inner = _sequence(items)
        if not inner or high == 0:
            return ""
        return f"({inner}){_quantifier(low, high)}"
    raise _Inexpressible(str(op))  # AT inside, ASSERT, GROUPREF, POSSESSIVE_REPEAT...


def _quantifier(low: int, high: int) -> str:
    unbounded = high is _C.MAXREPEAT or high == _C.MAXREPEAT
    if (low, unbounded) == (0, True):
        return "*"
    if (low, unbounded) == (1, True):
        return "+"
    if unbounded:
        return f"{{{low},}}"
    if (low, high) == (0, 1):
        return "?"
    if low == high:
        return f"{{{low}}}"
    return f"{{{low},{high}}}"


def _literal(code: int) -> str:
    char = chr(code)
    return char if char in _PLAIN or char == " " else f"[{_class_char(code)}]"


def _class_char(code: int) -> str:
    char = chr(code)
    if char in _PLAIN:
        return char
    return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"


def _class(items: Any) -> str:
    negate = bool(items) and items[0][0] is _C.NEGATE
    parts: list[str] = []
    for op, arg in items[1:] if negate else items:
        if op is _C.LITERAL:
            parts.append(_class_char(arg))
        elif op is _C.RANGE:
            low, high = arg
            parts.append(f"{_class_char(low)}-{_class_char(high)}")
        elif op is _C.CATEGORY and arg in _CATEGORIES and not negate:
            parts.append(_CATEGORIES[arg])
        else:
            # Negated shorthands (\D, \W, \S, [^\d]) have no safe spelling: their ASCII
            # complement admits Unicode digits, letters and spaces Python's excludes.
            raise _Inexpressible(f"class item {op}")
    if not parts:
        raise _Inexpressible("empty class")
    return f"[{'^' if negate else ''}{''.join(parts)}]"
