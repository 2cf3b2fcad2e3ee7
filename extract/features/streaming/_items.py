"""``iter_items``: the items of a ``list[Model]`` answer, each once it is complete and
validated, while the model is still writing the rest.

Built on ``stream``'s snapshots. What a pipeline was given is never silently
contradicted:

- The local decoder's loop guard takes back list items that repeat (three verbatim
  copies of a span, or five that differ only in their digits; ``extract.backends._loops``),
  back to the item the loop began in. So from such a backend
  (``Capabilities.takes_back``) an item is given once a later item that repeats none of
  the few dozen before it (digits aside) is complete, and the rest at the end: the last
  item comes with the result, and a list that truly repeats itself or counts up comes
  at the end. From any other backend an item is given as soon as it is complete.
- An item is given only if it validates on its own (the item type's validation). An
  item that does not stops the giving for that answer: the list as a whole is then
  invalid and will be asked again.
- A restarted answer (a retry, a take-back) is compared with what was given: an equal
  item is not given again; a different one stops the giving until the end.
- The final result decides: the items given must be its first items, and the rest of
  its items are given then. If they are not (a retry changed an item already given),
  ``ItemsChangedError`` is raised with the final result on it.
"""

from __future__ import annotations

import json
import re
import typing
from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import Any, Generic, TypeVar

import pydantic

from extract.core._errors import ItemsChangedError, UsageError
from extract.core._result import Result

from ._stream import Snapshot

T = TypeVar("T")

# How many items back a repeat is looked for: a looping span of up to 256 tokens
# holds a few dozen short items.
REPEAT_WINDOW = 48
_DIGIT = re.compile(r"[0-9]+")  # a number, whatever its length


def item_type(target: Any) -> Any:
    """The item type of ``list[X]``, or a ``UsageError`` saying what ``iter_items`` takes."""
    args = typing.get_args(target)
    if typing.get_origin(target) is list and len(args) == 1:
        return args[0]
    raise UsageError(
        f"iter_items takes a list type such as list[Model], not {target!r}; "
        "stream gives snapshots of any target"
    )


class ItemGate:
    """Snapshots in, items out (the rules in the module docstring)."""

    def __init__(self, item: Any, takes_back: bool = True) -> None:
        self._takes_back = takes_back  # the backend may cut repeats: hold them
        self._adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(item)
        self.given: list[Any] = []  # validated items, in order
        self._given_json: list[Any] = []  # the same, as the answer wrote them
        self._shapes: list[str] = []  # this answer's items, digits masked
        self._cursor = 0  # this answer's next item to look at
        self._stopped = False

    def snapshot(self, snapshot: Snapshot) -> list[Any]:
        if snapshot.restarted:
            self._cursor, self._stopped, self._shapes = 0, False, []
        items = snapshot.value
        if self._stopped or not isinstance(items, list):
            return []
        complete = _complete(items, snapshot.done)
        while self._cursor < min(complete, len(self.given)):  # given from an earlier answer
            if items[self._cursor] != self._given_json[self._cursor]:
                self._stopped = True
                return []
            self._cursor += 1
        if self._takes_back:
            # An item is given once a later item that repeats none before it is
            # complete: the loop guard cuts only items written after a loop began, and
            # those repeat earlier ones (the item it began in is followed by repeats).
            for index in range(len(self._shapes), complete):
                self._shapes.append(_DIGIT.sub("#", json.dumps(items[index], sort_keys=True)))
            later = max(
                (i for i in range(self._cursor + 1, complete) if not self._repeats(i)),
                default=self._cursor,
            )
        else:  # nothing told is ever cut back: every complete item can go
            later = complete
        out = []
        for index in range(self._cursor, later):
            try:
                value = self._adapter.validate_json(json.dumps(items[index]))
            except pydantic.ValidationError:
                self._stopped = True
                break
            self.given.append(value)
            self._given_json.append(items[index])
            out.append(value)
            self._cursor = index + 1
        return out

    def take(self, event: Snapshot | Result[Any]) -> list[Any]:
        return self.final(event) if isinstance(event, Result) else self.snapshot(event)

    def final(self, result: Result[Any]) -> list[Any]:
        """The final items not given yet; ``ItemsChangedError`` if some given differ."""
        items = list(result.value)
        for index, given in enumerate(self.given):
            if index >= len(items) or items[index] != given:
                raise ItemsChangedError(index, len(self.given), result)
        rest = items[len(self.given) :]
        self.given.extend(rest)
        return rest

    def _repeats(self, index: int) -> bool:
        shape = self._shapes[index]
        return shape in self._shapes[max(0, index - REPEAT_WINDOW) : index]


def _complete(items: list[Any], done: tuple[str, ...]) -> int:
    """How many of the items so far are complete: all but the last, which may still be
    under way (a scalar item only appears once complete)."""
    if not items:
        return 0
    last = len(items) - 1
    return len(items) if f"/{last}" in done else last


class Items(Generic[T]):
    """The items as they come; ``result`` is the extraction's ``Result`` once they are
    all given (usage, timings, attempts, as ``run`` gives them)."""

    def __init__(self, events: Iterator[Snapshot | Result[Any]], gate: ItemGate) -> None:
        self._events = events
        self._gate = gate
        self._ready: deque[T] = deque()
        self.result: Result[list[T]] | None = None

    def __iter__(self) -> Items[T]:
        return self

    def __next__(self) -> T:
        while not self._ready:
            if self.result is not None:
                raise StopIteration
            event = next(self._events)
            self.result = event if isinstance(event, Result) else None
            self._ready.extend(self._gate.take(event))
        return self._ready.popleft()

    def close(self) -> None:
        """Stop early: waits for the extraction under way to end, then discards it."""
        close = getattr(self._events, "close", None)
        if close is not None:
            close()


class AsyncItems(Generic[T]):
    """``Items`` as an async iterator."""

    def __init__(self, events: AsyncIterator[Snapshot | Result[Any]], gate: ItemGate) -> None:
        self._events = events
        self._gate = gate
        self._ready: deque[T] = deque()
        self.result: Result[list[T]] | None = None

    def __aiter__(self) -> AsyncItems[T]:
        return self

    async def __anext__(self) -> T:
        while not self._ready:
            if self.result is not None:
                raise StopAsyncIteration
            event = await anext(self._events)
            self.result = event if isinstance(event, Result) else None
            self._ready.extend(self._gate.take(event))
        return self._ready.popleft()

    async def aclose(self) -> None:
        aclose = getattr(self._events, "aclose", None)
        if aclose is not None:
            await aclose()
