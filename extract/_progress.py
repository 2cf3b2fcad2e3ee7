"""Progress of a batch on stderr: a rich bar on a terminal, a status line every few
seconds otherwise, and a summary at the end."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from ._batch import Outcome, Tally, outcome_line


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


def with_progress(outcomes: Iterator[Outcome], target: Any, total: int | None) -> Iterator[Outcome]:
    """``outcomes`` unchanged, counted on stderr as they pass; the summary at the end."""
    tally = Tally(total=total)
    with ProgressDisplay(tally, quiet=False) as tick:
        for outcome in outcomes:
            tally.add(outcome_line(outcome, target))
            tick()
            yield outcome
    print(tally.summary(), file=sys.stderr)


async def awith_progress(
    outcomes: AsyncIterator[Outcome], target: Any, total: int | None
) -> AsyncIterator[Outcome]:
    tally = Tally(total=total)
    with ProgressDisplay(tally, quiet=False) as tick:
        async for outcome in outcomes:
            tally.add(outcome_line(outcome, target))
            tick()
            yield outcome
    print(tally.summary(), file=sys.stderr)
