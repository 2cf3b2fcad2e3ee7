"""How soon a streamed record is useful: the first complete field and the first list
item, against the whole record, with the embedded model on the corpus.

For each document: seconds to the first snapshot with a complete leaf value, to the
first complete list item (list targets), and to the final ``Result``; medians per task,
and the share of the whole that the first field and item take.

    python -m benchmarks.streaming --tasks contact,team,news --limit 12
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import extract
from benchmarks.corpus import TASKS, load
from extract import Result, Snapshot


def timings(extractor: extract.Extractor, target: Any, text: str) -> dict[str, float | None]:
    started = time.perf_counter()
    first_field = first_item = None
    for event in extractor.stream(target, text, strings=False):
        now = time.perf_counter() - started
        if isinstance(event, Snapshot):
            leaves = [p for p in event.done if p and not _container(event.value, p)]
            if first_field is None and leaves:
                first_field = now
            if first_item is None and any(
                p.count("/") == 1 and p[1:].isdigit() for p in event.done
            ):
                first_item = now
        elif isinstance(event, Result):
            return {"first_field": first_field, "first_item": first_item, "whole": now}
    raise AssertionError("the stream ended without a result")


def _container(value: Any, pointer: str) -> bool:
    for key in pointer.split("/")[1:]:
        value = value[int(key)] if isinstance(value, list) else value[key]
    return isinstance(value, dict | list)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="contact,team,news")
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--json", help="write the per-document timings here")
    args = parser.parse_args()
    extractor = extract.Extractor()
    rows: dict[str, list[dict[str, float | None]]] = {}
    print("| task | documents | first field (s) | first item (s) | whole (s) | field / whole |"
          " item / whole |\n|---|---|---|---|---|---|---|")  # fmt: skip
    for task in args.tasks.split(","):
        target, _ = TASKS[task]
        docs = load(task)[: args.limit]
        rows[task] = [timings(extractor, target, d.text) for d in docs]

        def median(key: str, rows: list[dict[str, float | None]] = rows[task]) -> float | None:
            values = [r[key] for r in rows if r[key] is not None]
            return statistics.median(values) if values else None

        def share(key: str, rows: list[dict[str, float | None]] = rows[task]) -> str:
            values = [r[key] / r["whole"] for r in rows if r[key] is not None and r["whole"]]  # type: ignore[operator]
            return f"{statistics.median(values):.2f}" if values else "-"

        first_field, first_item, whole = (
            median("first_field"),
            median("first_item"),
            median("whole"),
        )
        show = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
        print(f"| {task} | {len(docs)} | {show(first_field)} | {show(first_item)} | {show(whole)} "
              f"| {share('first_field')} | {share('first_item')} |")  # fmt: skip
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
