"""``parse()``: text that should hold a value -> the typed value, repaired if safe."""

from __future__ import annotations

from typing import Any, TypeVar, overload

from extract.core._errors import ParseError
from extract.core._options import compile_target
from extract.core._repair import UnrepairableOutputError, repair_json
from extract.schemas import Invalid

T = TypeVar("T")


@overload
def parse(target: type[T], text: str) -> T: ...
@overload
def parse(target: Any, text: str) -> Any: ...
def parse(target: Any, text: str) -> Any:
    """The ``target`` value in ``text`` (model output, a log line, an API dump...).

    Repairs what can be repaired without guessing (fences, prose, trailing commas,
    Python literals, comments), then validates. Raises ``ParseError`` with a reason.
    """
    compiled = compile_target(target)
    try:
        repaired = repair_json(text)
    except UnrepairableOutputError as exc:
        raise ParseError(exc.reason, (str(exc),)) from exc
    outcome = compiled.validate(repaired.text)
    if isinstance(outcome, Invalid):
        raise ParseError("invalid", outcome.errors, repaired.fixes)
    return outcome
