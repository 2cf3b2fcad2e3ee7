"""A target compiled once and per-call options checked, before any model is asked."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from extract.schemas import CompiledSchema, SchemaError, compile_schema

from ._calibration import as_calibration
from ._errors import UnsupportedTypeError, UsageError
from ._loop import Options
from ._prompt import PROMPTS, dump_example


def compile_target(target: Any) -> CompiledSchema:
    try:
        return compile_schema(target)
    except SchemaError as exc:
        raise UnsupportedTypeError(str(exc)) from exc


OPTION_NAMES = (
    "max_retries", "temperature", "max_tokens", "instructions", "examples", "seed",
    "chunk_size", "chunk_overlap", "max_chunks", "prompt", "deadline", "min_confidence",
    "calibration",
)  # fmt: skip


def check_deadline(deadline: object) -> float | None:
    """``deadline=``: seconds for the whole extraction (a finite number > 0), or None."""
    if deadline is None:
        return None
    if (
        isinstance(deadline, bool)
        or not isinstance(deadline, (int, float))
        or not math.isfinite(deadline)
        or deadline <= 0
    ):
        raise UsageError(f"deadline must be a number of seconds > 0 or None, not {deadline!r}")
    return float(deadline)


def parse_options(target: Any, options: dict[str, Any]) -> Options:
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise UsageError(f"unknown option(s) {unknown}; known: {list(OPTION_NAMES)}")
    parsed = Options(
        **{
            **options,
            "examples": tuple(_examples(target, options.get("examples", ()))),
            "calibration": as_calibration(options.get("calibration")),
        }
    )
    if not isinstance(parsed.max_retries, int) or parsed.max_retries < 0:
        raise UsageError("max_retries must be an int >= 0")
    if not isinstance(parsed.max_tokens, int) or parsed.max_tokens < 1:
        raise UsageError("max_tokens must be an int >= 1")
    if not isinstance(parsed.temperature, (int, float)) or parsed.temperature < 0:
        raise UsageError("temperature must be a number >= 0")
    if parsed.seed is not None and not isinstance(parsed.seed, int):
        raise UsageError("seed must be an int or None")
    if parsed.chunk_size is not None and (
        not isinstance(parsed.chunk_size, int) or parsed.chunk_size < 200
    ):
        raise UsageError("chunk_size must be an int >= 200 (characters) or None")
    if not isinstance(parsed.chunk_overlap, int) or parsed.chunk_overlap < 0:
        raise UsageError("chunk_overlap must be an int >= 0 (characters)")
    if not isinstance(parsed.max_chunks, int) or parsed.max_chunks < 1:
        raise UsageError("max_chunks must be an int >= 1")
    check_deadline(parsed.deadline)
    sure = parsed.min_confidence
    if sure is not None and (
        isinstance(sure, bool) or not isinstance(sure, (int, float)) or not 0 <= sure <= 1
    ):
        raise UsageError(f"min_confidence must be a number from 0 to 1 or None, not {sure!r}")
    if parsed.prompt not in PROMPTS:
        raise UsageError(f"prompt must be one of {list(PROMPTS)}, not {parsed.prompt!r}")
    return parsed


def _examples(target: Any, examples: Sequence[Any]) -> list[tuple[str, Any]]:
    checked = []
    compiled = compile_target(target)
    for item in examples:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise UsageError("examples must be (text, value) pairs")
        text, value = item
        # An example that does not validate would teach the model a wrong answer.
        outcome = compiled.validate(dump_example(value, target))
        if getattr(outcome, "errors", None):
            raise UsageError(f"example value does not validate: {outcome.errors}")
        checked.append((text, value))
    return checked
