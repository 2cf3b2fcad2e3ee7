"""A streamed chat completion (``stream=True``) read chunk by chunk: each piece of the
answer (tool-call argument deltas, or content deltas) goes to the request's listener as
it arrives, and the chunks are put back together as the one response the backend's
parser reads (message, tool call, finish reason, usage)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from ._base import Listener


class Assembled:
    """The chunks so far, as a chat completion."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.told = 0  # a retried call starts again from 0: the listener restarts
        self.content: list[str] = []
        self.arguments: list[str] = []
        self.call_id: str | None = None
        self.finish: str | None = None
        self.refusal: str | None = None
        self.usage: Any = None

    def begin(self) -> None:
        self.listener(0, b"")  # a retry of the call starts the answer over

    def add(self, chunk: Any) -> None:
        if getattr(chunk, "usage", None) is not None:
            self.usage = chunk.usage
        for choice in getattr(chunk, "choices", None) or []:
            if choice.index != 0:
                continue
            delta = choice.delta
            self.finish = choice.finish_reason or self.finish
            if getattr(delta, "refusal", None):
                self.refusal = (self.refusal or "") + delta.refusal
            piece = ""
            for call in getattr(delta, "tool_calls", None) or []:
                if call.index != 0:
                    continue
                self.call_id = call.id or self.call_id
                if call.function is not None and call.function.arguments:
                    piece += call.function.arguments
                    self.arguments.append(call.function.arguments)
            if delta.content:
                piece += delta.content
                self.content.append(delta.content)
            if piece:
                data = piece.encode("utf-8")
                self.listener(self.told, data)
                self.told += len(data)

    def response(self) -> Any:
        calls = None
        if self.call_id is not None or self.arguments:
            function = SimpleNamespace(arguments="".join(self.arguments))
            calls = [SimpleNamespace(id=self.call_id, function=function)]
        message = SimpleNamespace(
            content="".join(self.content) or None, tool_calls=calls, refusal=self.refusal
        )
        choice = SimpleNamespace(message=message, finish_reason=self.finish)
        return SimpleNamespace(choices=[choice], usage=self.usage)
