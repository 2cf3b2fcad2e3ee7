"""Which strings a snapshot may show while they are still being written.

Free text may be offered as it grows (``Snapshot.growing``); a string that stands for
something whole never is: a choice (``Literal``, ``Enum``, ``const``) and a date, so no
half-written ``"pa"`` on the way to ``"paid"``. ``whole`` opts more text fields out by
their field pattern (``"/email"``, ``"/lines/*/name"``). Strings the schema does not
describe (inside a dict or a union) are text.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from typing import Any

from extract.core._errors import UsageError
from extract.schemas import field_pattern, field_patterns, field_tree

_WHOLE_KINDS = ("choice", "date")


def growing_rule(
    schema: dict[str, Any], strings: bool, whole: Collection[str]
) -> Callable[[str], bool]:
    """A predicate on a string's pointer: may it be shown while it is written?"""
    if isinstance(whole, str) or not all(isinstance(w, str) for w in whole):
        raise UsageError(f"whole takes field patterns such as {{'/email'}}, not {whole!r}")
    if not strings:
        return lambda pointer: False
    fields = field_patterns(field_tree(schema))
    text = sorted(p for p, node in fields.items() if node.kind == "text")
    for pattern in whole:
        if pattern not in text:
            raise UsageError(
                f"whole: {pattern!r} is not a text field of the target; its text fields: "
                f"{', '.join(text) or 'none'} (list items as /*)"
            )
    shut = {p for p, node in fields.items() if node.kind in _WHOLE_KINDS} | set(whole)

    @functools.lru_cache(maxsize=256)  # asked per token, mostly about the same string
    def grows(pointer: str) -> bool:
        return field_pattern(pointer) not in shut

    return grows
