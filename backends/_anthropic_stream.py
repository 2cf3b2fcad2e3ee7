"""A streamed Anthropic message (``stream=True``) read event by event: the forced tool's
``input_json_delta`` pieces (or text deltas) go to the request's listener as they come,
and the events are put back together as the one message the backend's parser reads."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from ._base import Listener


class Assembled:
    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.told = 0
        self.blocks: list[dict[str, Any]] = []
        self.stop_reason: str | None = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.cache_read = 0

    def begin(self) -> None:
        self.listener(0, b"")  # a retry of the call starts the answer over

    def add(self, event: Any) -> None:
        kind = getattr(event, "type", None)
        if kind == "message_start":
            usage = getattr(event.message, "usage", None)
            self.input_tokens = getattr(usage, "input_tokens", 0) or 0
            self.cache_read = getattr(usage, "cache_read_input_tokens", 0) or 0
        elif kind == "content_block_start":
            block = event.content_block
            self.blocks.append({"type": block.type, "id": getattr(block, "id", None), "parts": []})
        elif kind == "content_block_delta" and self.blocks:
            delta = event.delta
            piece = getattr(delta, "partial_json", None) or getattr(delta, "text", None) or ""
            if piece:
                self.blocks[-1]["parts"].append(piece)
                data = piece.encode("utf-8")
                self.listener(self.told, data)
                self.told += len(data)
        elif kind == "message_delta":
            self.stop_reason = getattr(event.delta, "stop_reason", None) or self.stop_reason
            usage = getattr(event, "usage", None)
            self.output_tokens = getattr(usage, "output_tokens", 0) or self.output_tokens

    def response(self) -> Any:
        content = []
        for block in self.blocks:
            text = "".join(block["parts"])
            if block["type"] == "tool_use":
                try:
                    value = json.loads(text) if text else {}
                except ValueError:
                    value = text  # cut short (max_tokens): the validator says so
                content.append(SimpleNamespace(type="tool_use", id=block["id"], input=value))
            else:
                content.append(SimpleNamespace(type=block["type"], text=text))
        usage = SimpleNamespace(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cache_read_input_tokens=self.cache_read,
        )
        return SimpleNamespace(content=content, stop_reason=self.stop_reason, usage=usage)
