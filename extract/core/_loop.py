"""The retry-and-repair loop: call, validate, quote the errors back, repeat.

It also ends every extraction that fails for a reason outside the answers (the
provider failed, the prompt outgrew the context, the deadline passed) with an error
that carries the attempts and usage spent until then.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any

from extract.backends import (
    Backend,
    Completion,
    ContextWindowExceeded,
    Image,
    ProviderFailure,
    Request,
    acomplete,
)
from extract.backends._tracing import provider_and_model, span
from extract.backends._transport import Deadline
from extract.schemas import CompiledSchema, ConstraintReport, Invalid, grounded_values, tool_schema

from ._budget import Budget, Prices
from ._confidence import answer_confidence
from ._drive import adrive, drive
from ._errors import (
    BudgetExceededError,
    ContextWindowError,
    DeadlineExceededError,
    ExtractionError,
    ProviderError,
    UsageError,
)
from ._events import AttemptEvent, ResultEvent, told_attempt
from ._prompt import build_messages, repair_messages
from ._repair import UnrepairableOutputError, repair_json
from ._result import Attempt, Result, Usage
from .grounding._align import Aligned, align_values


@dataclass(frozen=True)
class Options:
    max_retries: int = 2
    temperature: float = 0.0
    max_tokens: int = 512
    instructions: str | None = None
    examples: tuple[tuple[str, Any], ...] = ()
    seed: int | None = None
    # A list target's long text, read in chunks (``_long``): when it is longer than
    # ``chunk_size`` ("size") or only when the context refuses it whole ("overflow");
    # characters per chunk (None: ``_long.CHUNK_SIZE``, or on overflow from the
    # window), characters shared by neighbouring chunks, and the most chunks to read.
    chunking: str = "overflow"
    chunk_size: int | None = None
    chunk_overlap: int = 200
    max_chunks: int = 256
    # What the system prompt shows of the target: the JSON Schema, or a field list
    # (names, types, descriptions) at about 40% of its tokens (see docs/benchmarks/speed.md
    # for what each scores).
    prompt: str = "schema"
    # Seconds the whole extraction may take, every call, transport retry and re-ask
    # included (None: no limit but each call's timeout).
    deadline: float | None = None
    # Values less sure than this are abstained from (``_abstain``); None: all kept.
    min_confidence: float | None = None
    # Maps raw confidences to fitted accuracies before that (``_calibration``).
    calibration: Any = None
    # Examples chosen per document from reviewed records (``_nearest.Nearest``); the
    # runner puts its pick in ``examples`` before the loop starts.
    nearest: Any = None
    # Page images sent with the document to models that read them (hosted vision).
    images: tuple[Image, ...] = ()
    # Tokens one extraction may spend in all (retries, ensemble members, chunks), and
    # the budgets each call is checked against and charged to (``_budget``; the
    # runner adds the extraction's, a batch its own).
    max_total_tokens: int | None = None
    budgets: tuple[Budget, ...] = ()
    # Turns tokens into money where the backend does not say what a call cost.
    prices: Prices | None = None
    # Told each attempt and each extraction's end (``_events``).
    on_attempt: Callable[[AttemptEvent], None] | None = None
    on_result: Callable[[ResultEvent], None] | None = None


# Options that cannot change an answer: left out of the result cache's key.
UNKEYED_OPTIONS = ("max_total_tokens", "budgets", "prices", "on_attempt", "on_result")


# What a call ends in: the answer, or the failure the loop turns into the error.
Answer = Completion | ProviderFailure | ContextWindowExceeded
Steps = Generator[Request, Answer, Result[Any]]


def run_extraction(
    backend: Backend,
    target: Any,
    compiled: CompiledSchema,
    text: str,
    options: Options,
    prepare: Callable[[Request], Request] | None = None,
) -> Result[Any]:
    """The loop, driven with blocking calls; ``prepare`` sees each request first (the
    stream attaches its listener there)."""

    def call(request: Request) -> Answer:
        with _attempt_span(backend, request) as span:
            try:
                answer: Answer = backend.complete(prepare(request) if prepare else request)
            except (ProviderFailure, ContextWindowExceeded) as failure:
                answer = failure
            _answered(span, answer)
            return answer

    return drive(extraction_steps(backend, target, compiled, text, options), call)


async def arun_extraction(
    backend: Backend,
    target: Any,
    compiled: CompiledSchema,
    text: str,
    options: Options,
    prepare: Callable[[Request], Request] | None = None,
) -> Result[Any]:
    """The same loop, awaiting the backend; cancelling it cancels the request in flight."""

    async def call(request: Request) -> Answer:
        with _attempt_span(backend, request) as span:
            try:
                answer: Answer = await acomplete(backend, prepare(request) if prepare else request)
            except (ProviderFailure, ContextWindowExceeded) as failure:
                answer = failure
            _answered(span, answer)
            return answer

    return await adrive(extraction_steps(backend, target, compiled, text, options), call)


def _attempt_span(backend: Backend, request: Request) -> AbstractContextManager[Any]:
    """One model call as the GenAI conventions' inference span ("chat MODEL"): the
    provider's requests (transport retries included) nest under it."""
    provider, model = provider_and_model(backend.name)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "gen_ai.request.max_tokens": request.max_tokens,
        "gen_ai.request.temperature": request.temperature,
    }
    if request.seed is not None:
        attributes["gen_ai.request.seed"] = request.seed
    local = backend.capabilities.grammar  # a model in this process, not a service
    return span(f"chat {model}", attributes, client=not local)


def _answered(span: Any, answer: Answer) -> None:
    if isinstance(answer, Completion):
        span.set_attributes(
            {
                "gen_ai.response.finish_reasons": (answer.finish_reason,),
                "gen_ai.usage.input_tokens": answer.prompt_tokens,
                "gen_ai.usage.output_tokens": answer.completion_tokens,
            }
        )
    elif isinstance(answer, ProviderFailure):
        span.set_attribute("error.type", answer.problem)
    else:
        span.set_attribute("error.type", "context_window_exceeded")


def ended(
    failure: ProviderFailure | ContextWindowExceeded,
    attempts: Sequence[Attempt],
    usage: Usage,
    deadline: float | None,
) -> Exception:
    """The error a failed call ends the extraction with, carrying what was spent."""
    if isinstance(failure, ContextWindowExceeded):
        return ContextWindowError(
            str(failure),
            prompt_tokens=failure.prompt_tokens,
            context_window=failure.context_window,
            attempts=attempts,
            usage=usage,
        )
    if failure.deadline_exceeded and deadline is not None:
        return DeadlineExceededError(
            f"the deadline of {deadline:g} s passed after {len(attempts)} answer(s): {failure}",
            provider=failure.provider,
            deadline=deadline,
            attempts=attempts,
            usage=usage,
            status_code=failure.status_code,
            request_id=failure.request_id,
        )
    return ProviderError.from_failure(failure, attempts, usage)


def _past_deadline(
    backend: Backend, attempts: Sequence[Attempt], usage: Usage, deadline: float
) -> DeadlineExceededError:
    last = f"; last attempt: {attempts[-1].errors[0]}" if attempts and attempts[-1].errors else ""
    return DeadlineExceededError(
        f"the deadline of {deadline:g} s passed after {len(attempts)} answer(s) with no "
        f"valid one{last}",
        provider=backend.name,
        deadline=deadline,
        attempts=attempts,
        usage=usage,
    )


def extraction_steps(
    backend: Backend, target: Any, compiled: CompiledSchema, text: str, options: Options
) -> Steps:
    """The retry-and-repair loop without I/O: yields requests, is sent completions.

    One loop for blocking and async callers. Transport failures are retried by the
    backends; what reaches it is a model answer (each costs a retry) or the failure a
    call ended in, raised as the typed error with the attempts and usage so far. The
    deadline reaches the backend with each request and is checked before each re-ask.
    """
    started = time.perf_counter()
    deadline = Deadline.after(options.deadline, time.monotonic())
    messages = build_messages(
        compiled.json_schema,
        text,
        instructions=options.instructions,
        examples=options.examples,
        target=target,
        prompt=options.prompt,
    )
    if options.images:
        if not backend.capabilities.images:
            raise UsageError(f"{backend.name} reads no images: images= is for hosted vision models")
        *before, document = messages
        messages = (*before, replace(document, images=options.images))
    attempts: list[Attempt] = []
    usage = Usage()
    max_tokens = options.max_tokens
    retries = options.max_retries if backend.capabilities.reads_prompt else 0
    name = type_name(target)
    for number in range(retries + 1):
        if number:  # the attempt before was rejected
            told_attempt(options.on_attempt, backend.name, name, number, attempts[-1], True)
        if number and options.deadline is not None and deadline.expired(time.monotonic()):
            raise _past_deadline(backend, attempts, usage, options.deadline)
        left = _budget_left(options.budgets, attempts, usage)
        request = Request(
            messages,
            compiled,
            max_tokens=min(max_tokens, left),
            temperature=retry_temperature(options.temperature, number),
            seed=(options.seed or 0) + number,
            grounding=text if compiled.grounded else None,
            document=text,
            deadline=deadline.at,
        )
        call_started = time.perf_counter()
        completion = yield request
        if not isinstance(completion, Completion):
            raise ended(completion, attempts, usage, options.deadline) from completion
        step = Usage(
            completion.prompt_tokens,
            completion.completion_tokens,
            completion.cached_prompt_tokens,
        )
        step = replace(step, cost=_cost(completion, step, options.prices))
        for budget in options.budgets:
            budget.charge(step)
        usage = usage + step
        seconds = time.perf_counter() - call_started
        if completion.finish_reason == "refusal":
            problem = (f"the model refused: {completion.text[:300]}",)
            attempts.append(
                Attempt(completion.text, problem, False, step, seconds, True, problem="refused")
            )
            break  # asking again rarely changes a refusal and costs tokens
        if completion.finish_reason == "repetition":
            loop = (
                f"output stopped after {completion.completion_tokens} tokens: it was "
                "repeating the same span verbatim",
            )
            attempts.append(
                Attempt(completion.text, loop, True, step, seconds, problem="repetition")
            )
            continue  # sampled hotter, the next attempt can leave the loop
        if completion.finish_reason == "length":
            errors: Sequence[str] = (
                f"output truncated: reached max_tokens={max_tokens} before the JSON was complete",
            )
            attempts.append(
                Attempt(completion.text, tuple(errors), True, step, seconds, problem="truncated")
            )
            # A bigger budget is the only repair for a cut-off answer; once only, since
            # a model rambling inside a string would fill any budget (and its time).
            max_tokens = options.max_tokens * 2
            continue
        candidate = completion.text
        if not backend.capabilities.grammar:
            # Free text may wrap or bend the JSON: repair what is safe before validating.
            try:
                repaired = repair_json(candidate)
            except UnrepairableOutputError as exc:
                problem = (str(exc),)
                cut = exc.reason == "truncated"
                kind = "truncated" if cut else "not JSON"
                attempts.append(Attempt(completion.text, problem, cut, step, seconds, problem=kind))
                messages = repair_messages(messages, completion, problem)
                continue
            candidate = repaired.text
            if completion.restore is not None:  # back from the provider's schema dialect
                restored = completion.restore(repaired.value)
                candidate = json.dumps(restored, ensure_ascii=False, separators=(",", ":"))
        outcome = compiled.validate(candidate)
        if isinstance(outcome, Invalid):
            attempts.append(
                Attempt(completion.text, outcome.errors, False, step, seconds, problem="invalid")
            )
            messages = repair_messages(messages, completion, outcome.errors)
            continue
        spans: dict[str, Aligned] = {
            pointer: Aligned(start, end, "exact")
            for pointer, (start, end) in completion.spans.items()
        }
        if compiled.grounded and not spans:
            spans, missing = ground(compiled.json_schema, candidate, text)
            if missing:
                attempts.append(
                    Attempt(
                        completion.text, missing, False, step, seconds, problem="not in the text"
                    )
                )
                messages = repair_messages(messages, completion, missing)
                continue
        attempts.append(
            Attempt(completion.text, (), False, step, seconds, evidence=completion.evidence)
        )
        told_attempt(options.on_attempt, backend.name, name, len(attempts), attempts[-1], False)
        # Token evidence speaks of the text the tokens wrote: not of a repaired one.
        confidence = answer_confidence(completion, candidate)
        return Result(
            value=outcome,
            raw=completion.text,
            attempts=attempts,
            usage=usage,
            report=completion.report or _unreported(backend, compiled),
            timings={"total_s": time.perf_counter() - started, **completion.timings},
            model=backend.name,
            spans={pointer: (a.start, a.end) for pointer, a in spans.items()},
            alignment={pointer: a.status for pointer, a in spans.items()},
            confidence=confidence,
            confidence_source="tokens" if confidence else None,
        )
    if attempts:
        told_attempt(options.on_attempt, backend.name, name, len(attempts), attempts[-1], False)
    raise ExtractionError(name, attempts, usage)


def _budget_left(budgets: Sequence[Budget], attempts: Sequence[Attempt], usage: Usage) -> int:
    """Tokens the next call may still write (the least any budget leaves), or the
    error when a budget has run out: checked before each call."""
    left = 1 << 30
    for budget in budgets:
        if budget.left <= 0:
            raise BudgetExceededError(
                f"the {budget.scope}'s token budget of {budget.limit} is spent "
                f"({budget.spent} tokens) after {len(attempts)} answer(s) with no valid one",
                scope=budget.scope,
                limit=budget.limit,
                spent=budget.spent,
                attempts=attempts,
                usage=usage,
            )
        left = min(left, budget.left)
    return left


def _cost(completion: Completion, step: Usage, prices: Prices | None) -> float | None:
    """What the call cost: the backend's own figure, else the user's prices, else None."""
    if completion.cost is not None:
        return completion.cost
    return None if prices is None else prices.cost(step)


def ground(schema: Any, candidate: str, text: str) -> tuple[dict[str, Aligned], tuple[str, ...]]:
    """Every grounded value of a valid answer aligned to ``text``: the alignments, and
    the problems of values that are not in the text (quoted back to the model)."""
    values = grounded_values(schema, json.loads(candidate))
    found, missing = align_values(text, [(pointer, value) for pointer, value, _ in values])
    by_pointer = {pointer: value for pointer, value, _ in values}
    problems = tuple(
        f"{pointer}: {by_pointer[pointer]!r} does not occur in the text; copy the words "
        "exactly as the text writes them"
        for pointer in missing
    )
    return found, problems


def _unreported(backend: Backend, compiled: CompiledSchema) -> ConstraintReport:
    """The report when the backend gave none: the grammar's own, or (schema only in the
    prompt) nothing enforced while decoding, everything validated after."""
    if backend.capabilities.grammar:
        return compiled.report
    return tool_schema(compiled.json_schema).report(backend.name)


RETRY_TEMPERATURE_STEP = 0.3


def retry_temperature(temperature: float, attempt: int) -> float:
    """Greedy decoding repeats itself: each retry samples a little hotter to differ."""
    return max(temperature, min(1.0, RETRY_TEMPERATURE_STEP * attempt))


def type_name(target: Any) -> str:
    if isinstance(target, dict):
        return str(target.get("title", "JSON value"))
    return getattr(target, "__name__", None) or repr(target)
