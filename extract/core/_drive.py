"""Drivers of the core's sans-IO generators: the retry loop (``_loop``) and the reading
of a long text in chunks (``_long``) yield what to call and are sent the answers; a
blocking driver and an async one do the calling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import TypeVar

Sent = TypeVar("Sent")
Answer = TypeVar("Answer")
Done = TypeVar("Done")


def drive(steps: Generator[Sent, Answer, Done], call: Callable[[Sent], Answer]) -> Done:
    """Runs ``steps``: each value it yields goes to ``call``, whose answer is sent
    back, until it returns."""
    sent = next(steps)
    while True:
        try:
            sent = steps.send(call(sent))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]  # StopIteration.value is Any


async def adrive(
    steps: Generator[Sent, Answer, Done], call: Callable[[Sent], Awaitable[Answer]]
) -> Done:
    """``drive`` with an async ``call``."""
    sent = next(steps)
    while True:
        answer = await call(sent)
        try:
            sent = steps.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]  # StopIteration.value is Any
