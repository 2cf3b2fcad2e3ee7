"""Backends for the batch tests: each document's fate is decided by its text, so a run
with threads, processes or a restart gives the same answers."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

from pydantic import BaseModel

from extract.backends import Capabilities, Completion, ProviderFailure, Request


class Item(BaseModel):
    n: int


FATES = ("ok", "invalid", "crash", "provider", "timeout")


def fate(text: str) -> str:
    """``"doc 12 ok"`` -> ``"ok"``; a text naming no fate is fine."""
    words = text.split()
    return words[-1] if words and words[-1] in FATES else "ok"


def number(text: str) -> int:
    return int(text.split()[1])


class FaultyBackend:
    """A hosted-like backend (no grammar) that fails as each document's text says."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "fake:faulty"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities()

    def _enter(self) -> None:
        with self._lock:
            self.calls += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def complete(self, request: Request) -> Completion:
        self._enter()
        try:
            if self.delay:
                time.sleep(self.delay)
            return self._answer(request)
        finally:
            self._leave()

    def _answer(self, request: Request) -> Completion:
        text = request.messages[1].content  # system prompt, then the document
        what = fate(text)
        if what == "crash":
            raise RuntimeError(f"backend crashed on {text!r}")
        if what == "timeout":
            raise TimeoutError("the model took too long")
        if what == "provider":
            raise ProviderFailure(
                "fake: rate_limit", provider="fake", problem="rate_limit", retryable=True
            )
        answer = '{"n": "many"}' if what == "invalid" else f'{{"n": {number(text)}}}'
        return Completion(text=answer, finish_reason="stop", prompt_tokens=5, completion_tokens=3)


class AsyncFaultyBackend(FaultyBackend):
    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(asynchronous=True)

    async def acomplete(self, request: Request) -> Completion:
        self._enter()
        try:
            await asyncio.sleep(self.delay)
            return self._answer(request)
        finally:
            self._leave()


def slow_backend() -> Any:
    """For the CLI: ``--backend tests.batch_fakes:slow_backend`` (kill -9 tests)."""
    return FaultyBackend(delay=float(os.environ.get("FAKE_DELAY", "0.05")))


def broken_backend() -> Any:
    """A factory that fails, as one without credentials would."""
    raise RuntimeError("no credentials for this backend")
