"""The retry-and-repair loop: call, validate, quote the errors back, repeat."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backends import Backend, ContextWindowExceeded, Request
from schemas import CompiledSchema, Invalid

from ._errors import ContextWindowError, ExtractionError
from ._prompt import build_messages, repair_messages
from ._repair import UnrepairableOutputError, repair_json
from ._result import Attempt, Result, Usage


@dataclass(frozen=True)
class Options:
    max_retries: int = 2
    temperature: float = 0.0
    max_tokens: int = 512
    instructions: str | None = None
    examples: tuple[tuple[str, Any], ...] = ()
    seed: int | None = None


def run_extraction(
    backend: Backend, target: Any, compiled: CompiledSchema, text: str, options: Options
) -> Result[Any]:
    started = time.perf_counter()
    messages = build_messages(
        compiled.json_schema,
        text,
        instructions=options.instructions,
        examples=options.examples,
        target=target,
    )
    attempts: list[Attempt] = []
    usage = Usage()
    max_tokens = options.max_tokens
    for number in range(options.max_retries + 1):
        request = Request(
            messages,
            compiled,
            max_tokens=max_tokens,
            temperature=retry_temperature(options.temperature, number),
            seed=(options.seed or 0) + number,
        )
        call_started = time.perf_counter()
        try:
            completion = backend.complete(request)
        except ContextWindowExceeded as exc:
            raise ContextWindowError(
                str(exc), prompt_tokens=exc.prompt_tokens, context_window=exc.context_window
            ) from exc
        step = Usage(
            completion.prompt_tokens,
            completion.completion_tokens,
            completion.cached_prompt_tokens,
        )
        usage = usage + step
        seconds = time.perf_counter() - call_started
        truncated = completion.finish_reason == "length"
        if truncated:
            errors: Sequence[str] = (
                f"output truncated: reached max_tokens={max_tokens} before the JSON was complete",
            )
            attempts.append(Attempt(completion.text, tuple(errors), True, step, seconds))
            # A bigger budget is the only repair for a cut-off answer.
            max_tokens *= 2
            continue
        text = completion.text
        if not backend.capabilities.grammar:
            # Free text may wrap or bend the JSON: repair what is safe before validating.
            try:
                text = repair_json(text).text
            except UnrepairableOutputError as exc:
                problem = (str(exc),)
                cut = exc.reason == "truncated"
                attempts.append(Attempt(completion.text, problem, cut, step, seconds))
                messages = repair_messages(messages, completion.text, problem)
                continue
        outcome = compiled.validate(text)
        if isinstance(outcome, Invalid):
            attempts.append(Attempt(completion.text, outcome.errors, False, step, seconds))
            messages = repair_messages(messages, completion.text, outcome.errors)
            continue
        attempts.append(Attempt(completion.text, (), False, step, seconds))
        return Result(
            value=outcome,
            raw=completion.text,
            attempts=attempts,
            usage=usage,
            report=compiled.report,
            timings={"total_s": time.perf_counter() - started, **completion.timings},
        )
    raise ExtractionError(type_name(target), attempts, usage)


RETRY_TEMPERATURE_STEP = 0.3


def retry_temperature(temperature: float, attempt: int) -> float:
    """Greedy decoding repeats itself: each retry samples a little hotter to differ."""
    return max(temperature, min(1.0, RETRY_TEMPERATURE_STEP * attempt))


def type_name(target: Any) -> str:
    if isinstance(target, dict):
        return str(target.get("title", "JSON value"))
    return getattr(target, "__name__", None) or repr(target)
