"""Token budgets and prices: what an extraction or a batch may spend, and what it cost.

A ``Budget`` is a counter shared by every call it covers (the retries, ensemble
members and chunks of one extraction; or every document of one batch), checked before
each call and charged after it. ``Prices`` turn tokens into money where the backend
does not say what a call cost.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Literal

from ._errors import UsageError
from ._result import Usage

Scope = Literal["extraction", "batch"]


class Budget:
    """At most ``limit`` tokens (prompt and completion) over every call it covers."""

    def __init__(self, limit: int, scope: Scope) -> None:
        self.limit = check_tokens(
            limit, "max_total_tokens" if scope == "extraction" else "budget_tokens"
        )
        self.scope: Scope = scope
        self._spent = 0
        self._lock = threading.Lock()  # a batch's documents charge it from several threads

    def __repr__(self) -> str:
        return f"Budget({self.scope}: {self.spent} of {self.limit} tokens)"

    @property
    def spent(self) -> int:
        with self._lock:
            return self._spent

    @property
    def left(self) -> int:
        return max(0, self.limit - self.spent)

    def charge(self, usage: Usage) -> None:
        with self._lock:
            self._spent += usage.total_tokens


def check_tokens(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be an int >= 1 (tokens), not {value!r}")
    return value


@dataclass(frozen=True)
class Prices:
    """What a model's tokens cost, in US dollars per million: ``input`` (prompt),
    ``output`` (completion) and ``cached_input`` (prompt tokens the provider served
    from its cache; ``input`` when not given)."""

    input: float
    output: float
    cached_input: float | None = None

    def __post_init__(self) -> None:
        for name in ("input", "output", "cached_input"):
            price = getattr(self, name)
            if price is None and name == "cached_input":
                continue
            if (
                isinstance(price, bool)
                or not isinstance(price, int | float)
                or not math.isfinite(price)
                or price < 0
            ):
                raise UsageError(f"Prices.{name} must be a number >= 0 (US$ per million tokens)")

    def cost(self, usage: Usage) -> float:
        cached = min(usage.cached_prompt_tokens, usage.prompt_tokens)
        cached_price = self.input if self.cached_input is None else self.cached_input
        dollars = (
            (usage.prompt_tokens - cached) * self.input
            + cached * cached_price
            + usage.completion_tokens * self.output
        )
        return dollars / 1_000_000
