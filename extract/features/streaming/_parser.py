"""An incremental JSON parser: text in as it is written, a partial value out.

Each character is read once (``steps`` counts them), so following a whole answer costs
time linear in its length, never a re-parse of what came before. The partial value is
built in place: objects and arrays appear as soon as they open, with their completed
members; a scalar appears only once it is complete (a number when the character after
it ends it, ``true``/``false``/``null`` at their last letter), so no number, boolean or
enum is ever half-written. The string being written is kept apart (``growing``) and is
offered as it grows, never as a member of the value until its closing quote.

``done`` lists the JSON pointers whose values are complete, in the order they completed
(a container once it closes). The parser expects compact or pretty JSON as a model
writes it under a grammar; on anything else it stops with ``ValueError``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_NUMBER = frozenset("0123456789+-.eE")
_LITERALS = {"true": True, "false": False, "null": None}


@dataclass
class _Frame:
    container: dict[str, Any] | list[Any]
    pointer: str
    key: str | None = None  # objects: the member being written
    state: str = "start"  # start, key, colon, value, comma


@dataclass
class PartialParser:
    steps: int = 0  # characters read
    done: list[str] = field(default_factory=list)
    root: Any = None
    has_root: bool = False
    _growing_at: str | None = None  # the pointer of the string being written
    _stack: list[_Frame] = field(default_factory=list)
    _token: str | None = None  # "string", "key", "number", "literal"
    _buffer: list[str] = field(default_factory=list)
    _escape: str | None = None  # "" after a backslash, hex digits after \\u
    _high: int | None = None  # a UTF-16 high surrogate waiting for its pair
    _ended: bool = False

    @property
    def growing(self) -> tuple[str, str] | None:
        """(pointer, text so far) of the string being written, if one is."""
        if self._growing_at is None:
            return None
        return self._growing_at, "".join(self._buffer)

    def view(self) -> Any:
        """The value so far for a reader to keep: the containers still open are copied
        (the parser goes on filling them), complete values are shared, so a view costs
        the open containers' size, not the whole value's."""
        if not self._stack:
            return self.root
        inner: Any = None
        for frame in reversed(self._stack):
            copy: Any = (
                dict(frame.container)
                if isinstance(frame.container, dict)
                else list(frame.container)
            )
            if inner is not None:
                if isinstance(copy, dict):
                    assert frame.key is not None
                    copy[frame.key] = inner
                else:
                    copy[-1] = inner
            inner = copy
        return inner

    def feed(self, text: str) -> list[str]:
        """Read ``text``; the pointers completed by it."""
        before = len(self.done)
        for ch in text:
            self.steps += 1
            self._char(ch)
        return self.done[before:]

    def close(self) -> Any:
        """The complete value (a number at the very end is ended here)."""
        if self._token == "number":
            self._end_number()
        if not self._ended:
            raise ValueError("the JSON text is not complete")
        return self.root

    # -- characters -----------------------------------------------------------------

    def _char(self, ch: str) -> None:
        if self._token in ("string", "key"):
            self._string_char(ch)
            return
        if self._token == "number":
            if ch in _NUMBER:
                self._buffer.append(ch)
                return
            self._end_number()
        if self._token == "literal":
            self._buffer.append(ch)
            word = "".join(self._buffer)
            if word in _LITERALS:
                self._token = None
                self._value(_LITERALS[word])
            elif not any(w.startswith(word) for w in _LITERALS):
                raise ValueError(f"not JSON: {word!r}")
            return
        if ch in " \t\r\n":
            return
        if self._ended:
            raise ValueError(f"text after the end of the JSON value: {ch!r}")
        frame = self._stack[-1] if self._stack else None
        if frame is not None and frame.state == "key":
            if ch == '"':
                self._token, self._buffer = "key", []
                return
            if ch == "}" and not frame.container:
                self._close()
                return
            raise ValueError(f"expected a key, got {ch!r}")
        if frame is not None and frame.state == "colon":
            if ch != ":":
                raise ValueError(f"expected ':', got {ch!r}")
            frame.state = "value"
            return
        if frame is not None and frame.state == "comma":
            if ch == ",":
                frame.state = "key" if isinstance(frame.container, dict) else "value"
            elif ch in "}]":
                self._close()
            else:
                raise ValueError(f"expected ',' or a closing bracket, got {ch!r}")
            return
        if ch == "]" and frame is not None and isinstance(frame.container, list):
            if frame.container:
                raise ValueError("a value was expected after ','")
            self._close()
            return
        self._start_value(ch)

    def _start_value(self, ch: str) -> None:
        pointer = self._child_pointer()
        if ch == "{" or ch == "[":
            container: dict[str, Any] | list[Any] = {} if ch == "{" else []
            self._attach(container)
            self._stack.append(_Frame(container, pointer, state="key" if ch == "{" else "value"))
        elif ch == '"':
            self._token, self._buffer = "string", []
            self._growing_at = pointer
        elif ch in _NUMBER:
            self._token, self._buffer = "number", [ch]
        elif ch in "tfn":
            self._token, self._buffer = "literal", [ch]
        else:
            raise ValueError(f"not JSON: {ch!r}")

    def _string_char(self, ch: str) -> None:
        if self._escape is not None:
            if self._escape == "":
                if ch == "u":
                    self._escape = "u"
                    return
                if ch not in _ESCAPES:
                    raise ValueError(f"bad escape: \\{ch}")
                self._escape = None
                self._append(_ESCAPES[ch])
                return
            self._escape += ch
            if len(self._escape) == 5:  # "u" and four hex digits
                code = int(self._escape[1:], 16)
                self._escape = None
                if 0xD800 <= code < 0xDC00:
                    self._high = code
                    return
                if 0xDC00 <= code < 0xE000 and self._high is not None:
                    code = 0x10000 + ((self._high - 0xD800) << 10) + (code - 0xDC00)
                self._high = None
                self._append(chr(code))
            return
        if ch == "\\":
            self._escape = ""
        elif ch == '"':
            text = "".join(self._buffer)
            token, self._token = self._token, None
            if token == "key":
                frame = self._stack[-1]
                frame.key, frame.state = text, "colon"
            else:
                self._growing_at = None
                self._value(text)
        else:
            self._append(ch)

    def _append(self, piece: str) -> None:
        self._buffer.append(piece)

    def _end_number(self) -> None:
        self._token = None
        self._value(json.loads("".join(self._buffer)))

    # -- values -------------------------------------------------------------------

    def _child_pointer(self) -> str:
        if not self._stack:
            return ""
        frame = self._stack[-1]
        if isinstance(frame.container, dict):
            key = frame.key or ""
            return f"{frame.pointer}/{key.replace('~', '~0').replace('/', '~1')}"
        return f"{frame.pointer}/{len(frame.container)}"

    def _attach(self, value: Any) -> None:
        if not self._stack:
            self.root, self.has_root = value, True
            return
        frame = self._stack[-1]
        if isinstance(frame.container, dict):
            assert frame.key is not None
            frame.container[frame.key] = value
        else:
            frame.container.append(value)

    def _value(self, value: Any) -> None:
        pointer = self._child_pointer()
        self._attach(value)
        self._completed(pointer)

    def _completed(self, pointer: str) -> None:
        self.done.append(pointer)
        if not self._stack:
            self._ended = True
        else:
            self._stack[-1].state = "comma"

    def _close(self) -> None:
        frame = self._stack.pop()
        self._completed(frame.pointer)
