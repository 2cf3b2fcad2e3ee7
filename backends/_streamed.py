"""Reading a streamed SDK response into one: each event goes to an assembler (which
tells the request's listener), and the assembler gives back the whole response."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import Any, Protocol


class Assembler(Protocol):
    def begin(self) -> None: ...
    def add(self, event: Any) -> None: ...
    def response(self) -> Any: ...


def collect(stream: Iterable[Any], assembled: Assembler) -> Any:
    assembled.begin()
    for event in stream:
        assembled.add(event)
    return assembled.response()


async def acollect(made: Any, assembled: Assembler) -> Any:
    stream: AsyncIterable[Any] = await made
    assembled.begin()
    async for event in stream:
        assembled.add(event)
    return assembled.response()
