"""``min_confidence``: leave out what the source is not sure of, and say what.

A value whose confidence is below the threshold is set to ``None`` where the target
allows that, else left out where its field has a default; the record is validated
again after each change, so it always validates. Such values are listed in
``Result.abstained``; a low value that can be neither (a required field) stays, and
is listed in ``Result.uncertain`` for a person or a downstream rule to decide.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from pydantic_core import to_jsonable_python

from extract.schemas import CompiledSchema, Invalid

from ._result import Result


def abstain(result: Result[Any], compiled: CompiledSchema, threshold: float) -> Result[Any]:
    """``result`` with its values below ``threshold`` abstained from or marked."""
    low = [p for p, sure in result.confidence.items() if sure < threshold]
    if not low:
        return result
    record = to_jsonable_python(result.value, by_alias=True)
    value: Any = result.value
    abstained: list[str] = []
    uncertain: list[str] = []
    # Deepest first: a list item's field goes before the item it is in.
    for pointer in sorted(low, key=lambda p: (-p.count("/"), p)):
        for change in (_set_none, _remove):
            changed = change(record, pointer)
            if changed is None:
                continue
            outcome = compiled.validate(json.dumps(changed, ensure_ascii=False))
            if not isinstance(outcome, Invalid):
                record, value = changed, outcome
                abstained.append(pointer)
                break
        else:
            uncertain.append(pointer)
    gone = set(abstained)
    return dataclasses.replace(
        result,
        value=value,
        abstained=tuple(sorted(abstained)),
        uncertain=tuple(sorted(uncertain)),
        spans={p: s for p, s in result.spans.items() if p not in gone},
        alignment={p: a for p, a in result.alignment.items() if p not in gone},
    )


def _parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def _parent(record: Any, pointer: str) -> tuple[Any, Any, str | int] | None:
    """A copy of ``record`` and, in it, the container holding ``pointer`` and its key."""
    parts = _parts(pointer)
    if not parts:
        return None
    copy = json.loads(json.dumps(record))
    container = copy
    for part in parts[:-1]:
        container = container[int(part)] if isinstance(container, list) else container[part]
    last: str | int = int(parts[-1]) if isinstance(container, list) else parts[-1]
    return (copy, container, last) if _holds(container, last) else None


def _holds(container: Any, key: str | int) -> bool:
    if isinstance(container, list):
        return isinstance(key, int) and 0 <= key < len(container)
    return isinstance(container, dict) and key in container


def _set_none(record: Any, pointer: str) -> Any:
    found = _parent(record, pointer)
    if found is None:
        return None
    copy, container, key = found
    if container[key] is None:
        return None
    container[key] = None
    return copy


def _remove(record: Any, pointer: str) -> Any:
    found = _parent(record, pointer)
    if found is None:
        return None
    copy, container, key = found
    if not isinstance(container, dict):
        return None  # a list item is not left out: the list would shift
    del container[key]
    return copy
