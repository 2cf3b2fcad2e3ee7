"""``Extractor.stream``: snapshots while a backend writes, then the same Result as ``run``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

import extract
from extract import Result, Snapshot
from extract.backends import Capabilities, Completion, Request


class Line(BaseModel):
    name: str
    qty: int


class Order(BaseModel):
    customer: str
    status: Literal["open", "paid"]
    lines: list[Line]


class Streaming:
    """A backend that writes scripted answers a few bytes at a time to the listener;
    ``takes_back`` makes it retract the tail of the first answer once, as the local
    decoder's loop guard does."""

    def __init__(self, answers: list[str], step: int = 3, takes_back: bool = False) -> None:
        self.answers = list(answers)
        self.step = step
        self.takes_back = takes_back

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities()

    @property
    def name(self) -> str:
        return "streaming-fake"

    def complete(self, request: Request) -> Completion:
        text = self.answers.pop(0).encode()
        told = 0
        if request.listener is not None:
            for start in range(0, len(text), self.step):
                piece = text[start : start + self.step]
                request.listener(told, piece)
                told += len(piece)
                if self.takes_back and told > len(text) // 2:
                    self.takes_back = False
                    request.listener(told - 5, b"")  # five bytes taken back
                    told -= 5
                    request.listener(told, text[told : told + 5])
                    told += 5
        return Completion(text.decode(), "stop", 10, len(text))


GOOD = json.dumps({"customer": "Ada Lovelace", "status": "paid",
                   "lines": [{"name": "lamp", "qty": 2}, {"name": "cup", "qty": 12}]})  # fmt: skip
BAD = json.dumps({"customer": "Ada", "status": "paid", "lines": [{"name": "lamp", "qty": "two"}]})


def consistent(snapshots: list[Snapshot], final: Any) -> None:
    for snap in snapshots:
        for pointer in snap.done:
            node, want = snap.value, final
            for key in pointer.split("/")[1:]:
                node = node[int(key)] if isinstance(node, list) else node[key]
                want = want[int(key)] if isinstance(want, list) else want[key]
            assert node == want, pointer
        if snap.growing is not None:
            pointer, text = snap.growing
            want = final
            for key in pointer.split("/")[1:]:
                want = want[int(key)] if isinstance(want, list) else want[key]
            assert want.startswith(text)


def test_snapshots_grow_then_the_result_equals_run() -> None:
    events = list(extract.Extractor(Streaming([GOOD])).stream(Order, "text"))
    *snapshots, result = events
    assert isinstance(result, Result) and all(isinstance(s, Snapshot) for s in snapshots)
    assert result.value == extract.Extractor(Streaming([GOOD])).run(Order, "text").value
    consistent(snapshots, json.loads(GOOD))
    assert snapshots[-1].value == json.loads(GOOD) and snapshots[-1].done[-1] == ""
    # A list item appears as soon as it starts, with the fields it has so far.
    assert any(s.value.get("lines") == [{"name": "lamp"}] for s in snapshots)
    # The string being written is offered apart, never inside the value half-written.
    growing = [s.growing for s in snapshots if s.growing and s.growing[0] == "/customer"]
    assert ("/customer", "Ada ") in growing and all(
        "customer" not in s.value for s in snapshots if s.growing and s.growing[0] == "/customer"
    )


def test_without_strings_only_complete_values_make_snapshots() -> None:
    events = list(extract.Extractor(Streaming([GOOD], step=1)).stream(Order, "t", strings=False))
    snapshots = [e for e in events if isinstance(e, Snapshot)]
    assert all(s.growing is None for s in snapshots)
    assert len(snapshots) <= len(json.loads(GOOD)["lines"]) * 3 + 6  # one per completed value


def test_a_retry_is_announced_not_a_silent_jump_back() -> None:
    events = list(extract.Extractor(Streaming([BAD, GOOD])).stream(Order, "t"))
    *snapshots, result = events
    first = [s for s in snapshots if s.attempt == 1]
    second = [s for s in snapshots if s.attempt == 2]
    assert first and second and second[0].restarted and not any(s.restarted for s in second[1:])
    consistent(first, json.loads(BAD))
    consistent(second, json.loads(GOOD))
    assert len(result.attempts) == 2


def test_taken_back_tokens_restart_the_view() -> None:
    events = list(extract.Extractor(Streaming([GOOD], takes_back=True)).stream(Order, "t"))
    snapshots = [e for e in events if isinstance(e, Snapshot)]
    assert [s.restarted for s in snapshots].count(True) == 1
    consistent(snapshots, json.loads(GOOD))


def test_errors_reach_the_caller() -> None:
    with pytest.raises(extract.ExtractionError):
        list(extract.Extractor(Streaming([BAD, BAD, BAD, BAD])).stream(Order, "t", max_retries=1))


def test_a_backend_that_cannot_stream_gives_the_result_alone() -> None:
    from extract.testing import ScriptedBackend

    [result] = list(extract.Extractor(ScriptedBackend([GOOD])).stream(Order, "t"))
    assert isinstance(result, Result) and result.value.customer == "Ada Lovelace"


@pytest.mark.model
def test_the_embedded_model_streams_the_value_run_gives() -> None:
    from tests.corpus import Invoice

    text = (Path(__file__).resolve().parents[2] / "extract/apps/cli/samples/invoice.txt").read_text(
        "utf-8"
    )
    ex = extract.Extractor()
    *snapshots, result = list(ex.stream(Invoice, text))
    assert isinstance(result, Result) and result.value == ex.run(Invoice, text).value
    assert len(snapshots) > 5
    last_restart = max(i for i, s in enumerate(snapshots) if i == 0 or s.restarted)
    consistent(snapshots[last_restart + 1 :], json.loads(result.raw))


@pytest.mark.model
def test_the_command_prints_snapshots_then_the_result_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "extract", "run", "--schema", "tests.corpus:Contact",
         "--stream", "--no-cache", "extract/apps/cli/samples/contact.txt"],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in done.stdout.splitlines()]
    *snapshots, final = lines
    assert snapshots and all("snapshot" in s and s["attempt"] >= 1 for s in snapshots)
    assert "value" in final and final["id"] == "extract/apps/cli/samples/contact.txt"
    last = snapshots[-1]["snapshot"]
    assert last and all(final["value"][k] == v for k, v in last.items())
    with pytest.raises(subprocess.CalledProcessError):
        subprocess.run(
            [sys.executable, "-m", "extract", "run", "--schema", "tests.corpus:Contact",
             "--stream", "extract/apps/cli/samples/contact.txt", "extract/apps/cli/samples/team.txt"],
            cwd=root, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip


def test_astream_gives_the_same_events_in_an_event_loop() -> None:
    import asyncio

    async def collect() -> list[Any]:
        return [e async for e in extract.Extractor(Streaming([BAD, GOOD])).astream(Order, "t")]

    events = asyncio.run(collect())
    *snapshots, result = events
    assert isinstance(result, Result) and len(result.attempts) == 2
    assert [s.attempt for s in snapshots if s.restarted] == [2]
    consistent([s for s in snapshots if s.attempt == 2], json.loads(GOOD))
    assert (
        asyncio.iscoroutinefunction(extract.astream) is False
    )  # an async iterator, not a coroutine


class Shipment(BaseModel):
    ref: str
    status: Literal["open", "paid"]
    shipped: date
    lines: list[Line]


SHIPMENT = json.dumps({"ref": "A-17", "status": "paid", "shipped": "2024-05-16",
                       "lines": [{"name": "lamp", "qty": 2}, {"name": "cup", "qty": 12}]})  # fmt: skip


def growing_pointers(events: list[Any]) -> set[str]:
    return {e.growing[0] for e in events if isinstance(e, Snapshot) and e.growing}


def test_choices_and_dates_are_never_shown_half_written() -> None:
    events = list(extract.Extractor(Streaming([SHIPMENT], step=1)).stream(Shipment, "t"))
    assert growing_pointers(events) == {"/ref", "/lines/0/name", "/lines/1/name"}
    consistent([e for e in events if isinstance(e, Snapshot)], json.loads(SHIPMENT))


def test_text_fields_can_opt_out_of_growing() -> None:
    ex = extract.Extractor(Streaming([SHIPMENT], step=1))
    events = list(ex.stream(Shipment, "t", whole={"/lines/*/name"}))
    assert growing_pointers(events) == {"/ref"}
    assert isinstance(events[-1], Result) and events[-1].value.lines[1].name == "cup"


@pytest.mark.parametrize("whole", [{"/status"}, {"/lines/0/name"}, {"/nope"}, "/ref"])
def test_a_whole_that_names_no_text_field_is_refused(whole: Any) -> None:
    with pytest.raises(extract.UsageError, match="whole") as raised:
        extract.Extractor(Streaming([SHIPMENT])).stream(Shipment, "t", whole=whole)
    if not isinstance(whole, str):
        assert "/lines/*/name, /ref" in str(raised.value)  # the fields it could name
