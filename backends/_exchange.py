"""One request to a hosted API as a sans-IO exchange, driven by a blocking and by an
async loop, so the OpenAI, Anthropic and instructor backends write each request once.

A backend's ``exchange(request)`` is a generator: it yields the keyword arguments of
one SDK call, is sent the response (or the ``ProviderFailure`` the call ended in,
after transport retries), and either yields another call (the OpenAI backend trying
its next strategy), raises, or returns the ``Completion``.

Each SDK call is bounded as a whole (``read_within`` for a blocking client, ``within``
for an async one) by the client's timeout, cut to the request's deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from ._base import Completion, ProviderFailure, Request
from ._tracing import span
from ._transport import Deadline, RetryPolicy, acall_with_retries, call_with_retries, timed_out

Exchange = Generator[dict[str, Any], Any, Completion]
Sent = TypeVar("Sent")
Answer = TypeVar("Answer")
Done = TypeVar("Done")


def drive(steps: Generator[Sent, Answer, Done], call: Callable[[Sent], Answer]) -> Done:
    """Runs an exchange: each call it yields goes to ``call``, whose answer is sent
    back, until it returns. (The core drives its own loop the same way: ``extract.core.
    _drive``; an exchange is the backends' own, so they drive it here.)"""
    sent = next(steps)
    while True:
        try:
            sent = steps.send(call(sent))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


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
            return done.value  # type: ignore[no-any-return]


class HostedCalls:
    """``complete`` and ``acomplete`` for a backend around a sync or an async SDK client.

    Subclasses set ``is_async``, ``sdk``, ``_provider``, ``_retry`` and ``_timeout``
    (the whole-call bound, from the client's timeout), and define ``exchange``,
    ``_create`` (one SDK call given the seconds it may take; for an async client it
    returns an awaitable) and ``_failure`` (an SDK exception as a ``ProviderFailure``,
    or None if it is not one). ``_prepare``/``_aprepare`` run before the first call
    (e.g. asking what the server is), within the same deadline. A library that calls
    both ways (``both_ways``) defines ``_acreate`` too, its async call: then neither
    ``complete`` nor ``acomplete`` goes through the other.
    """

    is_async: bool
    both_ways: bool = False
    sdk: str
    _provider: str
    _retry: RetryPolicy
    _timeout: float | None = None

    def exchange(self, request: Request) -> Exchange:
        raise NotImplementedError

    def _create(self, params: dict[str, Any], seconds: float | None) -> Any:
        raise NotImplementedError

    def _acreate(self, params: dict[str, Any], seconds: float | None) -> Any:
        """One async call: an awaitable (an async client's ``_create`` gives one)."""
        return self._create(params, seconds)

    def _failure(self, exc: BaseException) -> ProviderFailure | None:
        raise NotImplementedError

    def _prepare(self, deadline: Deadline) -> None:
        return None

    async def _aprepare(self, deadline: Deadline) -> None:
        return None

    def complete(self, request: Request) -> Completion:
        if self.is_async and not self.both_ways:
            return _blocking(self, request)
        deadline = Deadline(request.deadline)
        self._prepare(deadline)
        return drive(self.exchange(request), functools.partial(self._call, deadline=deadline))

    async def acomplete(self, request: Request) -> Completion:
        if not (self.is_async or self.both_ways):
            return await asyncio.to_thread(self.complete, request)
        deadline = Deadline(request.deadline)
        await self._aprepare(deadline)
        call = functools.partial(self._acall, deadline=deadline)
        return await adrive(self.exchange(request), call)

    def _request_attributes(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "gen_ai.provider.name": self._provider,
            "gen_ai.request.model": str(params.get("model", "")),
        }

    def _call(self, params: dict[str, Any], deadline: Deadline) -> Any:
        """The response, or the failure the exchange decides about. Each try (transport
        retries included) is a span of its own, under the attempt's."""
        attributes = self._request_attributes(params)
        tries = itertools.count(1)

        def create(seconds: float | None) -> Any:
            with span(f"{self._provider} request", {**attributes, "extract.try": next(tries)}):
                return self._create(params, seconds)

        try:
            return call_with_retries(
                create,
                self._failure,
                self._retry,
                provider=self._provider,
                deadline=deadline,
                timeout=self._timeout,
            )
        except ProviderFailure as failure:
            return failure

    async def _acall(self, params: dict[str, Any], deadline: Deadline) -> Any:
        attributes = self._request_attributes(params)
        tries = itertools.count(1)

        async def call(seconds: float | None) -> Any:
            with span(f"{self._provider} request", {**attributes, "extract.try": next(tries)}):
                return await within(seconds, self._acreate(params, seconds), self._provider)

        try:
            return await acall_with_retries(
                call,
                self._failure,
                self._retry,
                provider=self._provider,
                deadline=deadline,
                timeout=self._timeout,
            )
        except ProviderFailure as failure:
            return failure


def _blocking(backend: HostedCalls, request: Request) -> Completion:
    """A blocking call on a backend built around an async client."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(backend.acomplete(request))
    raise RuntimeError(f"an async {backend.sdk} client inside an event loop: use arun/aextract")


async def within(seconds: float | None, made: Awaitable[Answer], provider: str) -> Answer:
    """``made`` awaited for at most ``seconds`` (cancelled after, which closes its
    request); then a retryable timeout failure, raised without the cancellation chained."""
    if seconds is None:
        return await made
    try:
        return await asyncio.wait_for(made, seconds)
    except asyncio.TimeoutError:
        pass
    raise timed_out(provider, seconds)


def read_within(
    opened: AbstractContextManager[Any],
    seconds: float | None,
    read: Callable[[Any], Answer],
    provider: str,
) -> Answer:
    """A blocking SDK call bounded as a whole: ``opened`` (an SDK
    ``with_streaming_response`` call) sends the request and reads the response's head,
    each read bounded by the call's own timeout; ``read`` then reads the body while a
    watchdog stands by to cut the connection once ``seconds`` have passed since the
    call began, so a body trickled a byte at a time cannot hold it.

    What the watchdog cannot reach: a response head trickled just as slowly (each read
    is still bounded), and a transport without a socket of its own (e.g. a mock).
    """
    if seconds is None:
        with opened as response:
            return read(response)
    started = time.monotonic()
    with opened as response:
        watchdog = _Watchdog(response.http_response, seconds - (time.monotonic() - started))
        try:
            return read(response)
        except Exception:
            if not watchdog.fired:
                raise
        finally:
            watchdog.stop()
    raise timed_out(provider, seconds)  # outside the except: the cut read is not chained


class _Watchdog:
    """Shuts a response's connection down ``seconds`` from now unless stopped first.

    Shutting the socket down (not closing it) is what wakes a read blocked in another
    thread at once; the connection is then dropped from the pool as broken.
    """

    def __init__(self, http_response: Any, seconds: float) -> None:
        self.fired = False
        self._response = http_response
        self._lock = threading.Lock()
        self._done = False
        self._timer = threading.Timer(max(seconds, 0.0), self._cut)
        self._timer.daemon = True
        self._timer.start()

    def _cut(self) -> None:
        with self._lock:  # never after stop(): that connection may be back in the pool
            if self._done:
                return
            self.fired = True
            _shut_down(self._response)

    def stop(self) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()


def _shut_down(http_response: Any) -> None:
    if getattr(http_response, "http_version", "") == "HTTP/2":
        return  # one connection carries other requests too: left to the read timeout
    stream = getattr(http_response, "extensions", {}).get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        # The plain socket's shutdown, under TLS too, wakes the blocked read; an
        # OSError means it is already closed.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
