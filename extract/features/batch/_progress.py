"""Progress of a batch on stderr: a rich bar on a terminal, a status line every few
seconds otherwise, and a summary at the end."""

from __future__ import annotations

import collections
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._engine import Outcome


@dataclass
class Tally:
    """Running totals for progress and the final summary."""

    total: int | None = None
    done: int = 0
    failed: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    # Money spent (US$), while every document that spent tokens had a known cost.
    cost: float | None = 0.0
    reasons: collections.Counter[str] = field(default_factory=collections.Counter)
    started: float = field(default_factory=time.perf_counter)

    def add(self, outcome: Outcome[Any]) -> None:
        """Counts one outcome."""
        result = outcome.result
        usage = outcome.usage
        self._spend(usage.prompt_tokens, usage.completion_tokens, usage.cost)
        if result is None:
            self._count(outcome.error_type or "Error")
        else:
            self._count(None, outcome.cached, result.retries)

    def add_line(self, line: Mapping[str, Any]) -> None:
        """Counts one JSON line (``outcome_line``'s format), as worker processes and Ray
        send them back."""
        usage = line.get("usage") or {}
        cost = usage.get("cost")
        self._spend(
            int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)),
            float(cost) if isinstance(cost, int | float) else None,
        )  # fmt: skip
        if "error" in line:
            self._count(error_type(str(line["error"])))
            return
        retries = line.get("retries", int(line.get("attempts", 1)) - 1)
        self._count(None, bool(line.get("cached")), max(0, int(retries)))

    def _spend(self, prompt_tokens: int, completion_tokens: int, cost: float | None) -> None:
        """Tokens spent on one document, failed or not; its cost, if known."""
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        if prompt_tokens + completion_tokens and self.cost is not None:
            self.cost = None if cost is None else self.cost + cost

    def _count(self, failure: str | None, cached: bool = False, retries: int = 0) -> None:
        self.done += 1
        if failure is not None:
            self.failed += 1
            self.reasons[failure] += 1
            return
        self.cached += cached
        self.retries += retries

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        failed = ", ".join(f"{n} {kind}" for kind, n in self.reasons.most_common())
        return (
            f"{self.done - self.failed} extracted ({self.cached} from the cache), "
            f"{self.failed} failed{f' ({failed})' if failed else ''}; "
            f"{self.prompt_tokens + self.completion_tokens} tokens{self._cost()}, "
            f"{self.retries} retries, {self.seconds:.1f} s"
        )

    def _cost(self) -> str:
        spent = self.prompt_tokens + self.completion_tokens
        return f" (${self.cost:.4f})" if self.cost is not None and spent else ""


def error_type(error: str) -> str:
    """The error type of a JSON line's ``"error": "Type: message"``."""
    return error.split(":", 1)[0]


class ProgressDisplay:
    """A rich progress bar on a terminal; a status line every few seconds otherwise."""

    def __init__(self, tally: Tally, quiet: bool) -> None:
        self.tally = tally
        self.quiet = quiet
        self.shown = 0.0
        self.bar: Any = None

    def __enter__(self) -> Any:
        if self.quiet:
            return lambda: None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[failed]} failed"),
                TextColumn("{task.fields[rate]:.2f}/s"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),  # stdout may carry the JSON lines
                transient=False,
            )
            self.bar.start()
            task = self.bar.add_task("extract", total=self.tally.total, failed=0, rate=0.0)

            def tick() -> None:
                t = self.tally
                self.bar.update(task, completed=t.done, failed=t.failed, rate=t.rate)

            return tick
        return self._line

    def _line(self) -> None:
        now = time.monotonic()
        if now - self.shown >= 5.0:
            self.shown = now
            t = self.tally
            of = f"/{t.total}" if t.total else ""
            eta = ""
            if t.total and t.rate > 0:
                eta = f", about {max(0, t.total - t.done) / t.rate:.0f} s left"
            print(f"{t.done}{of} done, {t.failed} failed, {t.rate:.2f}/s{eta}", file=sys.stderr)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def with_progress(outcomes: Iterator[Outcome[Any]], total: int | None) -> Iterator[Outcome[Any]]:
    """``outcomes`` unchanged, counted on stderr as they pass; the summary at the end."""
    tally = Tally(total=total)
    with ProgressDisplay(tally, quiet=False) as tick:
        for outcome in outcomes:
            tally.add(outcome)
            tick()
            yield outcome
    print(tally.summary(), file=sys.stderr)


async def awith_progress(
    outcomes: AsyncIterator[Outcome[Any]], total: int | None
) -> AsyncIterator[Outcome[Any]]:
    tally = Tally(total=total)
    with ProgressDisplay(tally, quiet=False) as tick:
        async for outcome in outcomes:
            tally.add(outcome)
            tick()
            yield outcome
    print(tally.summary(), file=sys.stderr)
