"""Transport retries for hosted APIs, kept apart from the repair loop.

A 429, a 5xx, a timeout or a dropped connection says nothing about the answer, so it
is retried here with exponential backoff and full jitter (or as long as the server's
``Retry-After`` asks), and never costs one of the caller's ``max_retries``. Vendor
exceptions become ``ProviderFailure``: one type, whatever the SDK.

The vendor SDKs' own retries are switched off (``max_retries=0``) so that exactly one
policy is in charge and its waits can be tested.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ._base import ProviderFailure, ProviderProblem

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a retryable failure."""

    attempts: int = 5  # calls in all, the first included
    base_seconds: float = 0.5
    max_seconds: float = 30.0  # no single wait is longer, Retry-After included
    seed: int | None = None

    def delay(self, failure: ProviderFailure, retry: int, rng: random.Random) -> float:
        if failure.retry_after is not None:
            return min(max(failure.retry_after, 0.0), self.max_seconds)
        # Full jitter: spreads clients that failed together (AWS architecture blog).
        return rng.uniform(0.0, min(self.max_seconds, self.base_seconds * 2**retry))


class _Retrying:
    """What the blocking and the async retry loops share: the decision after a failure.

    It also tells a server that died on a request from one that is merely unreachable:
    an attempt cut off mid-request (no answer), then attempts whose connection is
    refused, mean the server went away during that request (it may have crashed on it).
    """

    def __init__(
        self, classify: Callable[[BaseException], ProviderFailure | None], policy: RetryPolicy
    ) -> None:
        self._classify = classify
        self._policy = policy
        self._rng = random.Random(policy.seed)
        self._cut_off = False
        self._retry = 0

    def wait_after(self, exc: Exception) -> float:
        """Seconds to wait before the next call; raises when there is to be none."""
        retry, self._retry = self._retry, self._retry + 1
        failure = self._classify(exc)
        if failure is None:
            raise exc
        if failure.problem == "connection":
            self._cut_off = self._cut_off or _caused_by(exc, _CUT_OFF)
        if not failure.retryable or retry == self._policy.attempts - 1:
            if failure.problem == "connection" and self._cut_off and _caused_by(exc, _REFUSED):
                failure = _went_away(failure)
            raise failure from exc
        return self._policy.delay(failure, retry, self._rng)


# httpx's names (under both SDKs): no answer on an open connection / no connection at all.
_CUT_OFF = frozenset({"RemoteProtocolError", "ReadError"})
_REFUSED = frozenset({"ConnectError"})


def _caused_by(exc: BaseException, names: frozenset[str]) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):  # the SDK's error, httpx's, httpcore's...
        if seen is None:
            return False
        if type(seen).__name__ in names:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _went_away(failure: ProviderFailure) -> ProviderFailure:
    return ProviderFailure(
        f"{failure.provider}: connection: the server went away during this request: it "
        "closed the connection without an answer and no longer accepts connections (it "
        "may have crashed on this request)",
        provider=failure.provider,
        problem="connection",
        retryable=False,
    )


def call_with_retries(
    call: Callable[[], T],
    classify: Callable[[BaseException], ProviderFailure | None],
    policy: RetryPolicy,
) -> T:
    retrying = _Retrying(classify, policy)
    while True:  # until a call returns or wait_after raises
        try:
            return call()
        except Exception as exc:
            time.sleep(retrying.wait_after(exc))


async def acall_with_retries(
    call: Callable[[], Awaitable[T]],
    classify: Callable[[BaseException], ProviderFailure | None],
    policy: RetryPolicy,
) -> T:
    retrying = _Retrying(classify, policy)
    while True:
        try:
            return await call()
        except Exception as exc:
            await asyncio.sleep(retrying.wait_after(exc))


def problem_for_status(status: int) -> tuple[ProviderProblem, bool]:
    """What an HTTP status means, and whether trying again can help."""
    if status == 429:
        return "rate_limit", True
    if status >= 500:  # 529 is Anthropic's "overloaded"
        return "server", True
    if status in (408, 409):  # request timeout; conflict (OpenAI asks to retry it)
        return "timeout" if status == 408 else "server", True
    if status == 401:
        return "authentication", False
    if status == 403:
        return "permission", False
    if status == 404:
        return "not_found", False
    if status in (400, 413, 422):
        return "bad_request", False
    return "other", False


def retry_after_seconds(
    headers: Mapping[str, str] | None, now: float | None = None
) -> float | None:
    """The wait a server asked for: ``retry-after-ms``, ``retry-after`` seconds or date."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    if (ms := lowered.get("retry-after-ms")) is not None:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def redact(text: str, secret: str | None) -> str:
    """Keys never reach messages, even when a server echoes them back."""
    if secret and len(secret) >= 8:
        return text.replace(secret, "***")
    return text


def status_failure(exc: Any, provider: str, secret: str | None) -> ProviderFailure:
    """A ``ProviderFailure`` from an SDK status error (OpenAI's and Anthropic's alike)."""
    status = int(exc.status_code)
    problem, retryable = problem_for_status(status)
    response = getattr(exc, "response", None)
    headers = dict(response.headers) if response is not None else None
    request_id = getattr(exc, "request_id", None)
    message = str(getattr(exc, "message", exc))
    return ProviderFailure(
        redact(f"{provider}: {problem} (HTTP {status}"
               f"{f', request {request_id}' if request_id else ''}): {message}", secret),
        provider=provider,
        problem=problem,
        retryable=retryable,
        status_code=status,
        request_id=request_id,
        retry_after=retry_after_seconds(headers),
    )  # fmt: skip


def sdk_failure(
    exc: BaseException, sdk: Any, base_error: type[BaseException], provider: str, secret: str | None
) -> ProviderFailure | None:
    """An OpenAI or Anthropic SDK exception as a ``ProviderFailure`` (both SDKs share
    the shape: status errors, connection errors, timeouts); ``None`` if not theirs."""
    if isinstance(exc, ProviderFailure):
        return exc
    problem: ProviderProblem
    if isinstance(exc, sdk.APITimeoutError):
        problem, retryable = "timeout", True
    elif isinstance(exc, sdk.APIConnectionError):
        problem, retryable = "connection", True
    elif isinstance(exc, sdk.APIStatusError):
        return status_failure(exc, provider, secret)
    elif isinstance(exc, (sdk.APIResponseValidationError, json.JSONDecodeError)):
        problem, retryable = "bad_response", False
    elif isinstance(exc, getattr(sdk, "RetryableError", ())):
        problem, retryable = "other", True  # the SDK says trying again may help
    elif isinstance(exc, base_error):  # e.g. missing credentials
        problem, retryable = "other", False
    else:
        return None
    return ProviderFailure(
        redact(f"{provider}: {problem}: {exc}", secret),
        provider=provider,
        problem=problem,
        retryable=retryable,
    )
