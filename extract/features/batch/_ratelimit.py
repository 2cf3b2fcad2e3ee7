"""Requests and tokens per minute for hosted APIs, counted per request as providers
count them."""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from dataclasses import dataclass

from extract.backends import Backend, Capabilities, Completion, Request, acomplete
from extract.core._errors import UsageError

# Characters per token when guessing a prompt's size before it is sent (English text
# and JSON run 3-4; guessing low would let a burst through).
_CHARS_PER_TOKEN = 3


@dataclass
class Reservation:
    """One request's place in the last minute: its start, and its tokens (a guess
    until the answer says how many)."""

    at: float
    tokens: int


class RateLimit:
    """Requests and tokens per minute, over a sliding minute.

    A request starts only when the last minute's starts, and the tokens reserved in it,
    leave room for it. Each start reserves a guess of its tokens (the prompt's size plus
    the whole answer budget, which is how OpenAI counts a request against its limit),
    corrected to the real count when the answer comes, so requests in flight count too.
    """

    def __init__(
        self, requests_per_minute: float | None = None, tokens_per_minute: float | None = None
    ) -> None:
        for name, value in (("requests", requests_per_minute), ("tokens", tokens_per_minute)):
            if value is not None and not value > 0:
                raise UsageError(f"{name}_per_minute must be more than 0, not {value!r}")
        self.rpm = requests_per_minute
        self.tpm = tokens_per_minute
        self._window: collections.deque[Reservation] = collections.deque()
        self._lock = threading.Lock()

    def reserve(self, tokens: int = 0, now: float | None = None) -> Reservation | float:
        """A reservation, or how long to wait before asking again."""
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._window and self._window[0].at <= now - 60:
                self._window.popleft()
            waits = [0.0]
            if self.rpm is not None and len(self._window) >= self.rpm:
                waits.append(self._window[0].at + 60 - now)
            used = sum(r.tokens for r in self._window)
            # An empty minute takes any request, or one larger than the limit never runs.
            # (Under steady load such a request waits for the minute to empty: there is
            # no queue that holds smaller requests back for it.)
            if self.tpm is not None and used and used + tokens > self.tpm:
                waits.append(self._window[0].at + 60 - now)
            wait_s = max(waits)
            if wait_s > 0:
                return wait_s
            reservation = Reservation(now, tokens)
            self._window.append(reservation)
            return reservation

    def settle(self, reservation: Reservation, tokens: int) -> None:
        """The request's real token count, once its answer says it."""
        with self._lock:
            reservation.tokens = tokens

    def acquire(self, tokens: int = 0) -> Reservation:
        while not isinstance(got := self.reserve(tokens), Reservation):
            time.sleep(got)
        return got

    async def aacquire(self, tokens: int = 0) -> Reservation:
        while not isinstance(got := self.reserve(tokens), Reservation):
            await asyncio.sleep(got)
        return got


def estimate_tokens(request: Request) -> int:
    """What a request may cost before it is sent: its text's size and the answer budget."""
    chars = sum(len(m.content) for m in request.messages)
    return chars // _CHARS_PER_TOKEN + request.max_tokens


class LimitedBackend:
    """A backend whose every request (retries and re-asks included) waits for the
    limit, and reports what it spent. A failed request keeps its guess: the provider
    may have counted it."""

    def __init__(self, backend: Backend, limit: RateLimit) -> None:
        self.inner = backend
        self.limit = limit

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    def complete(self, request: Request) -> Completion:
        reservation = self.limit.acquire(estimate_tokens(request))
        completion = self.inner.complete(request)
        self.limit.settle(reservation, completion.prompt_tokens + completion.completion_tokens)
        return completion

    async def acomplete(self, request: Request) -> Completion:
        reservation = await self.limit.aacquire(estimate_tokens(request))
        completion = await acomplete(self.inner, request)
        self.limit.settle(reservation, completion.prompt_tokens + completion.completion_tokens)
        return completion
