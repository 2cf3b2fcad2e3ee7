"""A target compiled once and per-call options checked, before any model is asked."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from extract.backends import Image
from extract.schemas import CompiledSchema, SchemaError, compile_schema

from ._budget import check_tokens
from ._calibration import as_calibration
from ._errors import UnsupportedTypeError, UsageError
from ._long import CHUNKING
from ._loop import Options
from ._nearest import Nearest, parse_nearest
from ._prompt import PROMPTS, dump_example


def compile_target(target: Any) -> CompiledSchema:
    try:
        return compile_schema(target)
    except SchemaError as exc:
        raise UnsupportedTypeError(str(exc)) from exc


OPTION_NAMES = (
    "max_retries", "temperature", "max_tokens", "instructions", "examples", "seed",
    "chunking", "chunk_size", "chunk_overlap", "max_chunks", "prompt", "deadline",
    "min_confidence", "calibration", "images", "max_total_tokens", "on_attempt", "on_result",
)  # fmt: skip


def _images(given: Any) -> tuple[Image, ...]:
    """``images=``: PNG or JPEG bytes or ``Image``\\ s, sent with the document."""
    if given == "pages":
        raise UsageError('images="pages" needs the document as an extract.Document (extract.load)')
    if isinstance(given, bytes | Image):
        given = (given,)
    out = []
    for item in given or ():
        if isinstance(item, Image):
            out.append(item)
            continue
        image = Image.of(item) if isinstance(item, bytes) else None
        if image is not None:
            out.append(image)
            continue
        raise UsageError("images= takes PNG or JPEG bytes (or extract.backends.Image)")
    return tuple(out)


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
    given = options.get("examples", ())
    if isinstance(given, str):
        parse_nearest(given)  # a malformed spec is the clearer error
        raise UsageError(
            f'examples="{given}" needs reviewed records to choose from: '
            "pass examples=extract.Nearest(pool, k) (pool: (text, value) pairs)"
        )
    nearest = given if isinstance(given, Nearest) else None
    parsed = Options(
        **{
            **options,
            "examples": () if nearest else tuple(_examples(target, given)),
            "nearest": nearest,
            "calibration": as_calibration(options.get("calibration")),
            "images": _images(options.get("images", ())),
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
    if not isinstance(parsed.chunking, str) or parsed.chunking not in CHUNKING:
        raise UsageError(
            f"chunking must be one of {list(CHUNKING)} (read a list target's text in chunks "
            "when longer than chunk_size, or only when the context refuses it whole), "
            f"not {parsed.chunking!r}"
        )
    if parsed.chunk_size is not None and (
        not isinstance(parsed.chunk_size, int) or parsed.chunk_size < 200
    ):
        raise UsageError("chunk_size must be an int >= 200 (characters) or None")
    if not isinstance(parsed.chunk_overlap, int) or parsed.chunk_overlap < 0:
        raise UsageError("chunk_overlap must be an int >= 0 (characters)")
    if not isinstance(parsed.max_chunks, int) or parsed.max_chunks < 1:
        raise UsageError("max_chunks must be an int >= 1")
    check_deadline(parsed.deadline)
    if parsed.max_total_tokens is not None:
        check_tokens(parsed.max_total_tokens, "max_total_tokens")
    for hook in ("on_attempt", "on_result"):
        if getattr(parsed, hook) is not None and not callable(getattr(parsed, hook)):
            raise UsageError(f"{hook} must be a callable taking one event, or None")
    sure = parsed.min_confidence
    if sure is not None and (
        isinstance(sure, bool) or not isinstance(sure, (int, float)) or not 0 <= sure <= 1
    ):
        raise UsageError(f"min_confidence must be a number from 0 to 1 or None, not {sure!r}")
    if parsed.prompt not in PROMPTS:
        raise UsageError(f"prompt must be one of {list(PROMPTS)}, not {parsed.prompt!r}")
    return parsed


def _examples(
    target: Any, examples: Sequence[Any], compiled: CompiledSchema | None = None
) -> list[tuple[str, Any]]:
    checked = []
    compiled = compiled or compile_target(target)
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


def with_nearest(target: Any, compiled: CompiledSchema, text: str, options: Options) -> Options:
    """``options`` with the nearest examples for ``text`` chosen and checked."""
    nearest = options.nearest
    if nearest is None:
        return options
    picked = _examples(target, nearest.pick(text), compiled)
    return replace(options, examples=tuple(picked), nearest=None)
