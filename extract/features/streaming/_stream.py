"""``stream``: snapshots of the record while the model writes it, then the ``Result``.

The extraction runs as ``run`` does (same loop, options and seed, so the same final
value) in a worker thread; each request carries a listener that a streaming backend
calls with the answer's bytes as they are decoded. The bytes go through an incremental
UTF-8 decoder into the incremental parser (``_parser``), and a snapshot is made
whenever a value completes or the string being written grows (free text only, unless
opted out: ``_growing``). A retry starts a new answer: its first snapshot has
``restarted`` set and the next ``attempt`` number; so does a snapshot after the local
decoder took tokens back (its loop guard). A backend that cannot stream gives no
snapshots, only the result.
"""

from __future__ import annotations

import asyncio
import codecs
import dataclasses
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from extract.backends import Request
from extract.core._result import Result
from extract.schemas import value_at

from ._parser import PartialParser


@dataclass(frozen=True)
class Snapshot:
    """The record so far: objects and lists as soon as they start, scalars once complete."""

    # JSON: what is complete, and the containers under way. Complete values are shared
    # with later snapshots (a snapshot costs its open containers, not the whole record):
    # copy before changing one.
    value: Any
    done: tuple[str, ...]  # JSON pointers of the complete values, in order of completion
    growing: tuple[str, str] | None  # the string being written: (pointer, text so far)
    attempt: int  # 1, then 2... when the answer is asked again
    restarted: bool = False  # the first snapshot of a new attempt, or after a take-back


class Follower:
    """One answer's bytes -> snapshots (see the module docstring); an
    ``extract.backends.Listener``."""

    def __init__(
        self, attempt: int, emit: Callable[[Snapshot], None], grows: Callable[[str], bool]
    ) -> None:
        self.attempt = attempt
        self.emit = emit
        self.grows = grows  # may the string at this pointer be shown as it is written?
        self.root = ""  # the record's pointer in the answer ("/value": a provider's wrapping)
        self.raw = bytearray()
        self.parser = PartialParser()
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.fresh = attempt > 1  # the next snapshot starts a retry
        self.broken = False  # text the parser cannot follow: the result still comes
        self.shown: tuple[str, str] | None = None  # the growing string as last seen

    def within(self, pointer: str) -> None:
        self.root = pointer

    def __call__(self, kept: int, added: bytes) -> None:
        if kept < len(self.raw):  # tokens taken back: follow the kept text again
            del self.raw[kept:]
            self.parser, self.fresh, self.broken = PartialParser(), True, False
            self.decoder.reset()
            self._feed(self.decoder.decode(bytes(self.raw)))
            self.shown = self._growing()
        self.raw += added
        before = self.shown
        completed = [p for p in self._feed(self.decoder.decode(added)) if _under(p, self.root)]
        growing = self.shown = self._growing()
        grew = growing is not None and growing != before
        if self.broken or not (completed or grew or self.fresh):
            return
        found, value = (
            value_at(self.parser.view(), self.root) if self.parser.has_root else (False, None)
        )
        if not found:
            return
        root = len(self.root)
        done = tuple(p[root:] for p in self.parser.done if _under(p, self.root))
        self.emit(Snapshot(value, done, growing, self.attempt, self.fresh))
        self.fresh = False

    def _growing(self) -> tuple[str, str] | None:
        """The string being written, as the snapshot shows it (if it may be shown)."""
        growing = self.parser.growing
        if growing is None or not _under(growing[0], self.root):
            return None
        pointer = growing[0][len(self.root) :]
        return (pointer, growing[1]) if self.grows(pointer) else None

    def _feed(self, text: str) -> list[str]:
        if self.broken:
            return []
        try:
            return self.parser.feed(text)
        except ValueError:
            self.broken = True
            return []


def _under(pointer: str, root: str) -> bool:
    return pointer == root or pointer.startswith(root + "/")


_END = object()


def _preparer(
    emit: Callable[[Any], None], grows: Callable[[str], bool]
) -> Callable[[Request], Request]:
    """Attaches a new follower (the next attempt's) to each request."""
    attempts = 0

    def prepare(request: Request) -> Request:
        nonlocal attempts
        attempts += 1
        return dataclasses.replace(request, listener=Follower(attempts, emit, grows))

    return prepare


def stream_run(
    run: Callable[[Callable[[Request], Request]], Result[Any]],
    grows: Callable[[str], bool] = lambda pointer: True,
) -> Iterator[Snapshot | Result[Any]]:
    """Snapshots, then the ``Result``, of ``run(prepare)``: an extraction whose every
    request goes through ``prepare`` (which attaches the listener)."""
    events: queue.Queue[Any] = queue.Queue()
    prepare = _preparer(events.put, grows)

    def work() -> None:
        try:
            events.put(run(prepare))
        except BaseException as exc:  # handed to the caller's thread, raised there
            events.put(_Raised(exc))
        finally:
            events.put(_END)

    worker = threading.Thread(target=work, name="extract-stream", daemon=True)
    worker.start()
    try:
        while (event := events.get()) is not _END:
            if isinstance(event, _Raised):
                raise event.error
            yield event
    finally:
        worker.join()


@dataclass(frozen=True)
class _Raised:
    error: BaseException


async def astream_run(
    arun: Callable[[Callable[[Request], Request]], Awaitable[Result[Any]]],
    grows: Callable[[str], bool] = lambda pointer: True,
) -> AsyncIterator[Snapshot | Result[Any]]:
    """``stream_run`` for an awaited extraction. Listeners may be called from a worker
    thread (the local model decodes in one), so snapshots reach the loop thread-safely."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[Any] = asyncio.Queue()

    def emit(event: Any) -> None:
        loop.call_soon_threadsafe(events.put_nowait, event)

    task = asyncio.ensure_future(arun(_preparer(emit, grows)))
    task.add_done_callback(lambda _: emit(_END))
    try:
        while (event := await events.get()) is not _END:
            yield event
        yield await task
    finally:
        if not task.done():
            task.cancel()
