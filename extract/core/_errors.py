"""The exception tree. Misuse and model misbehaviour are kept apart.

ExtractError                   base of everything this package raises
├── UsageError                 you called the API wrong (also a TypeError)
│   └── UnsupportedTypeError   the type cannot be turned into a schema
├── ModelLoadError             the model file is missing or not loadable
├── ContextWindowError         the prompt does not fit the model's context;
│                              carries the attempts and usage before it
├── ExtractionError            the model never produced a valid object;
│                              carries every attempt
├── InputError                 a batch input cannot be read (a missing file, a line
│   │                          that is not JSON, no text); reported as that input's
│   │                          outcome, never raised out of a batch
│   └── DocumentError          ``extract.load``: a PDF, page, e-mail or file that
│                              cannot be read (damaged, encrypted, empty, of an
│                              unknown kind, a tool missing), saying why
├── ItemsChangedError          ``iter_items``: the final answer contradicts items
│                              already given; carries the final result
├── ProviderError              a hosted API call failed (after transport retries):
│   │                          provider, problem, status code, request id, retryable,
│   │                          and the attempts and usage spent before it
│   └── DeadlineExceededError  the extraction's ``deadline=`` passed (problem
│                              "timeout"): a ProviderError, so code handling "no
│                              answer in time" handles it, and a class of its own,
│                              since the budget was the caller's, not a server's
├── BudgetExceededError        ``max_total_tokens=`` or a batch's ``budget_tokens=`` ran
│                              out before a valid answer: the limit, what was spent,
│                              and this extraction's attempts and usage so far
├── IngestError                ``ingest``: the database cannot be reached or written
│                              (down, disk full, a table gone); the failing batch is
│                              rolled back, the batches before it stay committed
├── ParseError                 ``parse()``: a text holds no valid value (also a ValueError)
└── UnrepairableOutputError    ``repair_json()``: no JSON could be recovered (also a
                               ValueError)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from ._result import Usage

if TYPE_CHECKING:
    from extract.backends import ProviderFailure

    from ._result import Attempt


class ExtractError(Exception):
    """Base class of every error raised by ``extract``."""


class UsageError(ExtractError, TypeError):
    """The API was called with arguments it cannot work with."""


class InputError(ExtractError):
    """One batch input cannot be read: a missing file, a JSON line that is not JSON, a
    row without text. Batches report it as that input's ``Outcome`` (``error_type ==
    "InputError"``) and go on."""


class DocumentError(InputError):
    """A document that cannot be read: damaged, encrypted, empty, of an unknown kind,
    or needing a tool that is not installed (the message says which, and how to fix)."""


class UnsupportedTypeError(UsageError):
    """The requested type has no JSON Schema (e.g. an arbitrary class)."""


class ModelLoadError(ExtractError):
    """The model could not be found or loaded."""


class ContextWindowError(ExtractError):
    """The prompt (instructions, schema, examples and text) leaves no room to answer.

    ``attempts`` and ``usage``: what the extraction spent before (a re-ask that grew
    the prompt past the window comes after answers that were paid for)."""

    def __init__(
        self,
        message: str,
        *,
        prompt_tokens: int,
        context_window: int,
        attempts: Sequence[Attempt] = (),
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message)
        self.prompt_tokens = prompt_tokens
        self.context_window = context_window
        self.attempts = list(attempts)
        self.usage = usage if usage is not None else Usage()


class ExtractionError(ExtractError):
    """Every attempt produced output that failed validation (or was cut off)."""

    def __init__(self, target: str, attempts: list[Attempt], usage: Usage) -> None:
        self.target = target
        self.attempts = attempts
        self.usage = usage
        last = attempts[-1]
        if last.refused:
            reason = "the model refused"
        elif last.truncated:
            reason = "output was truncated at max_tokens"
        else:
            reason = "output failed validation"
        problems = "\n".join(f"  - {e}" for e in last.errors[:10])
        super().__init__(
            f"no valid {target} after {len(attempts)} attempt(s): {reason}\n"
            f"last output: {last.raw[:300]!r}\n{problems}"
        )


class ItemsChangedError(ExtractError):
    """``iter_items`` gave items from an answer that was then taken back or asked
    again, and the final answer's items differ from them: ``index`` is the first item
    given that the final ``result`` does not hold as given."""

    def __init__(self, index: int, given: int, result: Any) -> None:
        self.index = index
        self.given = given
        self.result = result
        final = len(result.value)
        super().__init__(
            f"items changed after they were given: item {index} of the {given} given "
            f"differs in the final answer ({final} item(s), attempt {len(result.attempts)}); "
            "the final result is on this error's .result"
        )


class BudgetExceededError(ExtractError):
    """A token budget ran out before a valid answer. ``scope`` is ``"extraction"``
    (``max_total_tokens=``: every retry, ensemble member and chunk of one extraction)
    or ``"batch"`` (``run_many(budget_tokens=)``: every document of one batch);
    ``limit`` and ``spent`` are that budget's tokens; ``attempts`` and ``usage`` are
    this extraction's so far (``usage.cost`` in money where the price is known).
    The budget is checked before each call, so it can be passed by at most the calls
    already under way when it ran out."""

    def __init__(
        self,
        message: str,
        *,
        scope: str,
        limit: int,
        spent: int,
        attempts: Sequence[Attempt] = (),
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message)
        self.scope = scope
        self.limit = limit
        self.spent = spent
        self.attempts = list(attempts)
        self.usage = usage if usage is not None else Usage()


class IngestError(ExtractError):
    """``ingest``/``retry_quarantine`` could not reach or write the database: it is down,
    its disk is full, a table is gone. Not a record's fault (a record the database
    refuses is quarantined instead). The batch being written was rolled back and the
    ones before it stay committed, so running the same ingest again resumes."""


class ProviderError(ExtractError):
    """A hosted API failed: rate limited, down, unreachable, or it refused the request.

    Retryable failures (429, 5xx, timeouts, lost connections) were already retried
    with backoff; ``retryable`` says whether trying later may help. ``problem`` is one
    of ``extract.backends.ProviderProblem``. ``attempts`` and ``usage``: the model answers of
    this extraction before the failure (each a repair retry) and the tokens they cost.

    No API key appears in it: not in the message, and not in a chained exception
    either (the SDK's own exception, which may quote the key, is not kept; its
    redacted summary is in the message).
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        problem: str,
        retryable: bool,
        status_code: int | None = None,
        request_id: str | None = None,
        attempts: Sequence[Attempt] = (),
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.problem = problem
        self.retryable = retryable
        self.status_code = status_code
        self.request_id = request_id
        self.attempts = list(attempts)
        self.usage = usage if usage is not None else Usage()

    @classmethod
    def from_failure(
        cls,
        failure: ProviderFailure,
        attempts: Sequence[Attempt] = (),
        usage: Usage | None = None,
    ) -> ProviderError:
        return cls(
            str(failure),
            provider=failure.provider,
            problem=failure.problem,
            retryable=failure.retryable,
            status_code=failure.status_code,
            request_id=failure.request_id,
            attempts=attempts,
            usage=usage,
        )


class DeadlineExceededError(ProviderError):
    """The extraction's ``deadline`` (seconds, across every call, wait and re-ask)
    passed before a valid answer: ``problem == "timeout"``, ``retryable`` (with more
    time), ``deadline`` the seconds it had, and the attempts and usage so far."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        deadline: float,
        attempts: Sequence[Attempt] = (),
        usage: Usage | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(
            message,
            provider=provider,
            problem="timeout",
            retryable=True,
            status_code=status_code,
            request_id=request_id,
            attempts=attempts,
            usage=usage,
        )
        self.deadline = deadline


ParseFailure = Literal["empty", "no_json", "truncated", "invalid"]


class ParseError(ExtractError, ValueError):
    """A text could not be turned into a valid value.

    ``reason`` is one of "empty", "no_json", "truncated" (the JSON is cut off) or
    "invalid" (JSON was found, repaired if needed, and failed validation); ``errors``
    says exactly why, ``fixes`` lists the repairs made before validating.
    """

    def __init__(
        self, reason: ParseFailure, errors: tuple[str, ...], fixes: tuple[str, ...] = ()
    ) -> None:
        self.reason = reason
        self.errors = errors
        self.fixes = fixes
        detail = "\n".join(f"  - {e}" for e in errors[:10])
        super().__init__(f"{reason}:\n{detail}")
