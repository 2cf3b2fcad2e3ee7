"""Transport retries for hosted APIs, kept apart from the repair loop.

A 429, a 5xx, a timeout or a dropped connection says nothing about the answer, so it
is retried here with exponential backoff and full jitter (or as long as the server's
``Retry-After`` asks), and never costs one of the caller's ``max_retries``. Vendor
exceptions become ``ProviderFailure``: one type, whatever the SDK, raised without a
chain (the SDK's exception may hold the API key) and with a redacted summary of it.

Time is bounded twice: each call by the client's timeout, taken as a bound on the
whole call (the SDKs' own timeout bounds each socket read, so a server trickling
bytes could hold a call forever), and every call and wait of one extraction by its
``Deadline``. ``Deadline`` and ``_Retrying`` hold that arithmetic without doing any
I/O; the blocking and the async loops below only sleep and call.

The vendor SDKs' own retries are switched off (``max_retries=0``) so that exactly one
policy is in charge and its waits can be tested.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import Any, TypeVar

from ._base import ProviderFailure, ProviderProblem

T = TypeVar("T")
log = logging.getLogger(__name__)

# The whole-call bound of a client built from a name ("openai:MODEL", "anthropic:MODEL")
# when no timeout= is given: the SDKs' 600 s bounds each read, not the call, and two
# minutes is ample for an extraction of a few hundred tokens.
DEFAULT_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a retryable failure."""

    attempts: int = 5  # calls in all, the first included
    base_seconds: float = 0.5
    max_seconds: float = 30.0  # no single wait is longer, Retry-After included
    seed: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.attempts, int) or self.attempts < 1:
            raise ValueError(f"attempts must be an int >= 1, not {self.attempts!r}")
        for name in ("base_seconds", "max_seconds"):
            value = getattr(self, name)
            if not is_seconds(value):
                raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")

    def delay(self, failure: ProviderFailure, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (0 first): what the server
        asked for, capped at ``max_seconds``, else full jitter. Always finite, >= 0."""
        if is_seconds(failure.retry_after):
            return min(float(failure.retry_after), self.max_seconds)  # type: ignore[arg-type]
        # Full jitter: spreads clients that failed together (AWS architecture blog).
        return rng.uniform(0.0, min(self.max_seconds, self.base_seconds * 2.0 ** min(retry, 64)))


def is_seconds(value: object) -> bool:
    """A usable number of seconds: finite and not negative (NaN, inf, -1 are not)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


@dataclass(frozen=True)
class Deadline:
    """When a whole extraction must be over, on the ``time.monotonic()`` clock (``at``;
    None: never). Pure: every question is asked with the time it is asked at."""

    at: float | None = None

    @classmethod
    def after(cls, seconds: float | None, now: float) -> Deadline:
        return cls(None if seconds is None else now + seconds)

    def left(self, now: float) -> float | None:
        return None if self.at is None else max(0.0, self.at - now)

    def expired(self, now: float) -> bool:
        return self.at is not None and now >= self.at

    def bound(self, timeout: float | None, now: float) -> float | None:
        """Seconds the next call may take: the per-call timeout, cut to what is left."""
        left = self.left(now)
        if left is None:
            return timeout
        return left if timeout is None else min(timeout, left)

    def cuts(self, timeout: float | None, now: float) -> bool:
        """Whether the deadline, not the per-call timeout, bounds a call started now."""
        left = self.left(now)
        return left is not None and (timeout is None or left < timeout)

    def allows_wait(self, seconds: float, now: float) -> bool:
        """Whether a wait of ``seconds`` still leaves time for a call after it."""
        return self.at is None or now + seconds < self.at


NO_DEADLINE = Deadline()


def attempt_seconds(client_timeout: Any) -> float | None:
    """The whole-call bound a client's timeout stands for: a number as it is, an httpx
    ``Timeout`` its read timeout (what the SDKs call their timeout); None: unbounded."""
    value = getattr(client_timeout, "read", client_timeout)
    if is_seconds(value) and value > 0:
        return float(value)
    return None


def call_timeout(client_timeout: Any, seconds: float) -> Any:
    """The ``timeout=`` of one SDK call: the client's own, each part cut to ``seconds``
    (so a client's short connect timeout stays short)."""
    parts = ("connect", "read", "write", "pool")
    if not all(hasattr(client_timeout, part) for part in parts):
        return seconds
    capped = {}
    for part in parts:
        value = getattr(client_timeout, part)
        capped[part] = seconds if value is None else min(float(value), seconds)
    return type(client_timeout)(**capped)


def timed_out(provider: str, seconds: float) -> ProviderFailure:
    """The failure of a call that had no complete answer within its bound."""
    return ProviderFailure(
        f"{provider}: timeout: no complete answer within {seconds:.3g} s (the client's "
        "timeout bounds each whole call; pass timeout=... for a longer one)",
        provider=provider,
        problem="timeout",
        retryable=True,
    )


def past_deadline(
    provider: str, last: ProviderFailure | None, wait: float | None = None
) -> ProviderFailure:
    """The failure that ends transport retries when the deadline leaves no time."""
    if wait is not None:
        why = f"the deadline leaves no time for the {wait:.3g} s wait before the next call"
    else:
        why = "the deadline passed"
    return ProviderFailure(
        f"{provider}: timeout: {why}" + (f"; last failure: {last}" if last is not None else ""),
        provider=provider,
        problem="timeout",
        retryable=True,
        status_code=last.status_code if last is not None else None,
        request_id=last.request_id if last is not None else None,
        deadline_exceeded=True,
    )


Classify = Callable[[BaseException], "ProviderFailure | None"]


class _Retrying:
    """What the blocking and the async retry loops share: the bound of each call and
    the decision after a failure (wait, or the failure that ends it all).

    It also tells a server that died on a request from one that is merely unreachable:
    an attempt cut off mid-request (no answer), then attempts whose connection is
    refused, mean the server went away during that request (it may have crashed on it).
    """

    def __init__(
        self,
        classify: Classify,
        policy: RetryPolicy,
        *,
        provider: str,
        deadline: Deadline,
        timeout: float | None,
        clock: Callable[[], float],
    ) -> None:
        self._classify = classify
        self._policy = policy
        self._provider = provider
        self._deadline = deadline
        self._timeout = timeout
        self._clock = clock
        self._rng = random.Random(policy.seed)
        self._cut_off = False
        self._retry = 0
        self._last: ProviderFailure | None = None
        self._cut_by_deadline = False
        self._bound: float | None = None

    def bound(self) -> float | ProviderFailure | None:
        """Seconds the next call may take (None: unbounded), or the failure to raise
        when the deadline left no time for it."""
        now = self._clock()
        if self._deadline.expired(now):
            return past_deadline(self._provider, self._last)
        self._cut_by_deadline = self._deadline.cuts(self._timeout, now)
        self._bound = self._deadline.bound(self._timeout, now)
        return self._bound

    def after(self, exc: BaseException) -> float | ProviderFailure | None:
        """Seconds to wait before the next call, the failure that ends the calls, or
        None if ``exc`` is not a provider's failure (it is then raised as it is)."""
        retry, self._retry = self._retry, self._retry + 1
        failure = self._classify(exc)
        if failure is None:
            return None
        if failure.problem == "timeout" and self._bound is not None:
            failure = timed_out(self._provider, self._bound)  # the SDK's words lack the bound
        if failure.problem == "connection":
            self._cut_off = self._cut_off or _caused_by(exc, _CUT_OFF)
        now = self._clock()
        if failure.retryable and (
            self._deadline.expired(now) or (failure.problem == "timeout" and self._cut_by_deadline)
        ):
            return past_deadline(self._provider, failure)
        if not failure.retryable or retry == self._policy.attempts - 1:
            if failure.problem == "connection" and self._cut_off and _caused_by(exc, _REFUSED):
                return _went_away(failure)
            return failure
        delay = self._policy.delay(failure, retry, self._rng)
        if not self._deadline.allows_wait(delay, now):
            return past_deadline(self._provider, failure, wait=delay)
        self._last = failure
        log.info("%s; call %d of %d in %.2f s", failure, retry + 2, self._policy.attempts, delay)
        return delay


# httpx's names (under both SDKs): no answer on an open connection / no connection at all.
_CUT_OFF = frozenset({"RemoteProtocolError", "ReadError"})
_REFUSED = frozenset({"ConnectError"})


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it: the SDK's error, httpx's, httpcore's..."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 8 and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def _caused_by(exc: BaseException, names: frozenset[str]) -> bool:
    return any(type(seen).__name__ in names for seen in _causes(exc))


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
    call: Callable[[float | None], T],
    classify: Classify,
    policy: RetryPolicy,
    *,
    provider: str = "provider",
    deadline: Deadline = NO_DEADLINE,
    timeout: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``call(seconds)`` until it returns, retried as ``policy`` says; each call is
    given the seconds it may take. Failures are raised outside the ``except`` block,
    so they carry no ``__context__`` (the SDK's exception, which may hold the key)."""
    retrying = _Retrying(
        classify, policy, provider=provider, deadline=deadline, timeout=timeout, clock=clock
    )
    while True:  # until a call returns or a failure is raised
        bound = retrying.bound()
        if isinstance(bound, ProviderFailure):
            raise bound
        try:
            return call(bound)
        except Exception as exc:
            outcome = retrying.after(exc)
            if outcome is None:
                raise
        if isinstance(outcome, ProviderFailure):
            raise outcome
        time.sleep(outcome)


async def acall_with_retries(
    call: Callable[[float | None], Awaitable[T]],
    classify: Classify,
    policy: RetryPolicy,
    *,
    provider: str = "provider",
    deadline: Deadline = NO_DEADLINE,
    timeout: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``call_with_retries`` with an async ``call``."""
    retrying = _Retrying(
        classify, policy, provider=provider, deadline=deadline, timeout=timeout, clock=clock
    )
    while True:
        bound = retrying.bound()
        if isinstance(bound, ProviderFailure):
            raise bound
        try:
            return await call(bound)
        except Exception as exc:
            outcome = retrying.after(exc)
            if outcome is None:
                raise
        if isinstance(outcome, ProviderFailure):
            raise outcome
        await asyncio.sleep(outcome)


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
    """The wait a server asked for: ``retry-after-ms``, ``retry-after`` seconds or an
    HTTP date (a past one is 0). Always finite and >= 0, or None: a value that is not
    a number of seconds (NaN, infinite, negative, garbage) asks for nothing."""
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    if (ms := _number(lowered.get("retry-after-ms"))) is not None:
        return ms / 1000
    value = lowered.get("retry-after")
    if value is None:
        return None
    if (seconds := _number(value)) is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:  # "-0000": UTC, the sender's zone unknown (RFC 5322)
            when = when.replace(tzinfo=timezone.utc)
        wait = when.timestamp() - (time.time() if now is None else now)
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None
    return max(0.0, wait) if math.isfinite(wait) else None


def _number(text: str | None) -> float | None:
    """A header's number of seconds, if it is one that can be waited for."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if is_seconds(value) else None


def redact(text: str, secret: str | None) -> str:
    """Keys never reach messages, even when a server echoes them back."""
    if secret and len(secret) >= 8:
        return text.replace(secret, "***")
    return text


def summary(exc: BaseException, secret: str | None) -> str:
    """``exc`` and its causes on one line, redacted: what a log needs of an exception
    that is not kept (``APIConnectionError: Connection error. <- ConnectError: ...``)."""
    parts: list[str] = []
    for seen in _causes(exc)[:4]:
        text = str(seen)[:300]
        part = f"{type(seen).__name__}: {text}" if text else type(seen).__name__
        if not parts or parts[-1] != part:  # httpx re-raises httpcore's error by the same name
            parts.append(part)
    return redact(" <- ".join(parts), secret)


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


_HTTP_LIBRARIES = frozenset({"httpx", "httpx2", "httpcore", "httpcore2"})


def transport_problem(exc: BaseException) -> tuple[ProviderProblem, bool] | None:
    """An exception of the HTTP library under the SDKs (raised while a streamed body
    is read, outside the SDK's own mapping), or None if it is not one."""
    if type(exc).__module__.split(".")[0] not in _HTTP_LIBRARIES:
        return None
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "TimeoutException" in names:
        return "timeout", True
    if "DecodingError" in names:
        return "bad_response", False
    if names & {"TransportError", "NetworkError", "ProtocolError"}:
        return "connection", True
    return None


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
    elif (found := transport_problem(exc)) is not None:
        problem, retryable = found
    elif isinstance(exc, base_error):  # e.g. missing credentials
        problem, retryable = "other", False
    else:
        return None
    return ProviderFailure(
        f"{provider}: {problem}: {summary(exc, secret)}",
        provider=provider,
        problem=problem,
        retryable=retryable,
    )
