"""``Extractor.iter_items``: a list's items as they complete, never silently contradicted."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

import extract
from extract import ItemsChangedError, Result
from extract.backends import Capabilities, Completion, Request
from extract.backends._loops import LOOP_COPIES, NEAR_COPIES, NEAR_KEPT, near_repeating, repeating


class Line(BaseModel):
    name: str
    qty: Annotated[int, Field(gt=0)]


def compact(items: list[dict[str, Any]]) -> str:
    return json.dumps(items, separators=(",", ":"))


@dataclass
class Answer:
    """What the fake writes: ``text`` in pieces; then, if ``cut`` is set, it takes the
    tail back to byte ``cut`` and writes ``ending`` (as the loop guard does)."""

    text: str
    cut: int | None = None
    ending: str = ""

    @property
    def final(self) -> str:
        return self.text if self.cut is None else self.text[: self.cut] + self.ending


class Writing:
    """A streaming backend that writes scripted answers ``step`` bytes at a time;
    ``pause`` is called after each piece with the bytes written so far."""

    def __init__(
        self, answers: list[Answer], step: int = 3, pause: Any = None, takes_back: bool = False
    ) -> None:
        self.answers = list(answers)
        self.step = step
        self.pause = pause
        self.takes_back = takes_back

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(takes_back=self.takes_back)

    @property
    def name(self) -> str:
        return "writing-fake"

    def complete(self, request: Request) -> Completion:
        answer = self.answers.pop(0)
        listener = request.listener
        if listener is not None:
            self._write(listener, 0, answer.text.encode())
            if answer.cut is not None:
                listener(answer.cut, b"")
                self._write(listener, answer.cut, answer.ending.encode())
        return Completion(answer.final, "stop", 10, len(answer.final))

    def _write(self, listener: Any, told: int, data: bytes) -> None:
        for start in range(0, len(data), self.step):
            listener(told + start, data[start : start + self.step])
            if self.pause is not None:
                self.pause(data[: start + self.step])


def items_of(answers: list[Answer], **options: Any) -> tuple[list[Line], Result[Any] | None]:
    stream = extract.Extractor(Writing(answers)).iter_items(list[Line], "text", **options)
    return list(stream), stream.result


LINE = st.builds(
    dict, name=st.text("abcxyz -", min_size=1, max_size=8), qty=st.integers(1, 99)
).map(lambda d: {"name": d["name"], "qty": d["qty"]})


@settings(max_examples=150, deadline=None)
@given(st.lists(LINE, min_size=1, max_size=8), st.integers(1, 7))
def test_every_item_once_in_order(lines: list[dict[str, Any]], step: int) -> None:
    stream = extract.Extractor(Writing([Answer(compact(lines))], step)).iter_items(list[Line], "t")
    got = list(stream)
    assert got == [Line(**line) for line in lines]
    assert stream.result is not None and stream.result.value == got


class Guarded:
    """A backend that writes an answer one byte at a time, each byte a token, through
    the local decoder's own loop detectors (``backends._loops``): when one fires, the
    answer is cut back to the item boundary before the kept copies end, as the decoder
    does, and the list is closed."""

    DIGITS = np.array([chr(b).isdigit() for b in range(256)])

    def __init__(self, answer: str) -> None:
        self.answer = answer.encode()
        self.cut: int | None = None

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(takes_back=True)

    @property
    def name(self) -> str:
        return "guarded-fake"

    def complete(self, request: Request) -> Completion:
        assert request.listener is not None
        out: list[int] = []
        for byte in self.answer:
            request.listener(len(out), bytes([byte]))
            out.append(byte)
            span, copies, kept = repeating(out), LOOP_COPIES, 1
            if not span:
                span, copies, kept = near_repeating(out, self.DIGITS), NEAR_COPIES, NEAR_KEPT
            cut = self._boundary(out, len(out) - (copies - kept) * span, span) if span else None
            if cut is not None:
                self.cut = cut
                request.listener(cut, b"")
                request.listener(cut, b"]")
                out[cut:] = b"]"
                break
        text = bytes(out).decode()
        return Completion(text, "stop", 10, len(out))

    @staticmethod
    def _boundary(out: list[int], first_end: int, span: int) -> int | None:
        """The last ``},`` before ``first_end`` (within one span): where to cut."""
        for at in range(first_end - 1, max(first_end - span - 1, 0), -1):
            if out[at] == ord(",") and bytes(out[:at]).rstrip().endswith(b"}"):
                return at
        return None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(LINE, max_size=4),
    st.lists(LINE, min_size=1, max_size=3),
    st.integers(2, 6),
    st.booleans(),
    st.lists(LINE, max_size=2),
)
def test_items_the_loop_guard_takes_back_are_never_given(
    before: list[dict[str, Any]],
    loop: list[dict[str, Any]],
    times: int,
    counting: bool,
    after: list[dict[str, Any]],
) -> None:
    """A list that falls into a loop (a few items again and again, verbatim or counting
    up) is cut by the decoder's detectors; nothing given is taken back with it."""
    body = [
        {**item, "qty": item["qty"] + (k if counting else 0)} for k in range(times) for item in loop
    ]
    backend = Guarded(compact([*before, *body, *after]))
    stream = extract.Extractor(backend).iter_items(list[Line], "t")
    got = list(stream)  # an ItemsChangedError here: something given was taken back
    assert stream.result is not None
    assert got == stream.result.value == [Line(**x) for x in json.loads(stream.result.raw)]


def test_the_guard_emulation_cuts_a_loop() -> None:
    """The test above exercises cuts: a loop of two items written four times is cut."""
    loop = [{"name": "ab", "qty": 1}, {"name": "cd", "qty": 2}]
    backend = Guarded(compact([{"name": "x", "qty": 5}, *loop * 4]))
    got = list(extract.Extractor(backend).iter_items(list[Line], "t"))
    assert backend.cut is not None and len(got) < 9


@pytest.mark.parametrize("takes_back", [False, True])
def test_items_come_while_the_model_still_writes(takes_back: bool) -> None:
    """From a backend that never cuts back, an item comes once complete; from one that
    may (the local loop guard), once the next item is complete too."""
    lines = [{"name": "lamp", "qty": 2}, {"name": "cup", "qty": 12}, {"name": "pen", "qty": 1}]
    text = compact(lines)
    given_first = threading.Event()
    waited: list[bool] = []
    wait_at = 3 if takes_back else 2  # the item that has started when the first is due

    def pause(written: bytes) -> None:
        if not waited and written.count(b"{") == wait_at:
            waited.append(given_first.wait(10))

    backend = Writing([Answer(text)], 3, pause, takes_back)
    stream = extract.Extractor(backend).iter_items(list[Line], "t")
    first = next(stream)
    given_first.set()
    assert first == Line(name="lamp", qty=2)
    assert [first, *stream] == [Line(**line) for line in lines]
    assert waited == [True]  # the backend was still writing when the first item came


def test_an_item_that_fails_validation_is_not_given_and_the_retry_continues() -> None:
    bad = compact([{"name": "lamp", "qty": 2}, {"name": "cup", "qty": 0}])
    good = compact([{"name": "lamp", "qty": 2}, {"name": "cup", "qty": 3}])
    got, result = items_of([Answer(bad), Answer(good)])
    assert result is not None and len(result.attempts) == 2
    assert got == [Line(name="lamp", qty=2), Line(name="cup", qty=3)]


def test_a_retry_that_changes_a_given_item_raises_with_the_final_result() -> None:
    bad = compact([{"name": "lamp", "qty": 2}, {"name": "cup", "qty": 0}])
    other = compact([{"name": "lantern", "qty": 2}, {"name": "cup", "qty": 3}])
    stream = extract.Extractor(Writing([Answer(bad), Answer(other)])).iter_items(list[Line], "t")
    assert next(stream) == Line(name="lamp", qty=2)
    with pytest.raises(ItemsChangedError) as raised:
        next(stream)
    assert raised.value.index == 0 and raised.value.given == 1
    assert raised.value.result.value == [Line(name="lantern", qty=2), Line(name="cup", qty=3)]
    assert "item 0" in str(raised.value)


def test_a_list_of_scalars_and_an_empty_list() -> None:
    stream = extract.Extractor(Writing([Answer("[3,1,2]")])).iter_items(list[int], "t")
    assert list(stream) == [3, 1, 2]
    assert items_of([Answer("[]")])[0] == []


def test_a_target_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(extract.UsageError, match=r"list\[Model\]"):
        extract.Extractor(Writing([])).iter_items(Line, "t")


def test_aiter_items() -> None:
    lines = [{"name": "lamp", "qty": 2}, {"name": "cup", "qty": 12}]
    ex = extract.Extractor(Writing([Answer(compact(lines))]))

    async def collect() -> tuple[list[Line], Any]:
        stream = ex.aiter_items(list[Line], "t")
        return [item async for item in stream], stream.result

    got, result = asyncio.run(collect())
    assert got == result.value == [Line(**line) for line in lines]


def test_a_backend_that_cannot_stream_gives_every_item_at_the_end() -> None:
    from extract.testing import ScriptedBackend

    lines = [{"name": "lamp", "qty": 2}]
    stream = extract.Extractor(ScriptedBackend([compact(lines)])).iter_items(list[Line], "t")
    assert list(stream) == [Line(name="lamp", qty=2)]


@pytest.mark.model
def test_the_embedded_model_gives_the_items_run_gives() -> None:
    from tests.corpus import TeamMember, load

    doc = next(d for d in load("team") if len(d.gold) >= 2)
    ex = extract.default_extractor()
    stream = ex.iter_items(list[TeamMember], doc.text)
    got = list(stream)
    assert stream.result is not None
    assert got == stream.result.value == ex.run(list[TeamMember], doc.text).value
