"""One request to a hosted API as a sans-IO exchange, driven by a blocking and by an
async loop, so the OpenAI, Anthropic and instructor backends write each request once.

A backend's ``exchange(request)`` is a generator: it yields the keyword arguments of
one SDK call, is sent the response (or the ``ProviderFailure`` the call ended in,
after transport retries), and either yields another call (the OpenAI backend trying
its next strategy), raises, or returns the ``Completion``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

from ._base import Completion, ProviderFailure, Request
from ._transport import RetryPolicy, acall_with_retries, call_with_retries

Exchange = Generator[dict[str, Any], Any, Completion]
Sent = TypeVar("Sent")
Answer = TypeVar("Answer")
Done = TypeVar("Done")


def drive(steps: Generator[Sent, Answer, Done], call: Callable[[Sent], Answer]) -> Done:
    """Runs a sans-IO generator: each value it yields goes to ``call``, whose answer is
    sent back, until it returns."""
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

    Subclasses set ``is_async``, ``sdk`` and ``_retry``, and define ``exchange``,
    ``_create`` (the SDK call; it returns an awaitable for an async client) and
    ``_failure`` (an SDK exception as a ``ProviderFailure``, or None if it is not one).
    ``_prepare``/``_aprepare`` run before the first call (e.g. asking what the server is).
    """

    is_async: bool
    sdk: str
    _retry: RetryPolicy

    def exchange(self, request: Request) -> Exchange:
        raise NotImplementedError

    def _create(self, params: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _failure(self, exc: BaseException) -> ProviderFailure | None:
        raise NotImplementedError

    def _prepare(self) -> None:
        return None

    async def _aprepare(self) -> None:
        return None

    def complete(self, request: Request) -> Completion:
        if self.is_async:
            return _blocking(self, request)
        self._prepare()
        return drive(self.exchange(request), self._call)

    async def acomplete(self, request: Request) -> Completion:
        if not self.is_async:
            return await asyncio.to_thread(self.complete, request)
        await self._aprepare()
        return await adrive(self.exchange(request), self._acall)

    def _call(self, params: dict[str, Any]) -> Any:
        """The response, or the failure the exchange decides about."""
        try:
            return call_with_retries(
                functools.partial(self._create, params), self._failure, self._retry
            )
        except ProviderFailure as failure:
            return failure

    async def _acall(self, params: dict[str, Any]) -> Any:
        try:
            call = functools.partial(self._create, params)
            return await acall_with_retries(call, self._failure, self._retry)
        except ProviderFailure as failure:
            return failure


def _blocking(backend: HostedCalls, request: Request) -> Completion:
    """A blocking call on a backend built around an async client."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(backend.acomplete(request))
    raise RuntimeError(f"an async {backend.sdk} client inside an event loop: use arun/aextract")
