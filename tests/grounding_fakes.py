"""A backend with a small context window that finds names like ``Name17`` in its text:
enough to test reading a long document chunk by chunk."""

from __future__ import annotations

import json
import re

from extract.backends import Capabilities, Completion, ContextWindowExceeded, Request

NAME = re.compile(r"\bName\d+\b")


class NameFinder:
    def __init__(self, window: int = 600) -> None:
        self.window = window  # characters of document that fit
        self.seen: list[str] = []

    @property
    def name(self) -> str:
        return "fake:name-finder"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(context_window=self.window)

    def complete(self, request: Request) -> Completion:
        text = request.messages[-1].content
        if len(text) > self.window:
            raise ContextWindowExceeded(len(text) // 3 + 200, self.window // 3, request.max_tokens)
        self.seen.append(text)
        names = [{"text": m.group(), "kind": "person"} for m in NAME.finditer(text)]
        return Completion(json.dumps({"entities": names}), "stop", 10, 5)


def name_finder() -> NameFinder:
    return NameFinder()
