"""Nearest examples against fixed ones and none, on the corpus, with the harness.

Per task the same documents are scored by three systems on the embedded model:

- ``none``: no examples (the corpus's own shots for news, as every system gets);
- ``first:K``: the first K documents' gold as examples for every document (how
  examples are given today), those K scored by no system;
- ``nearest:K``: per document, the K most similar other documents' gold
  (``extract.Nearest``: BM25), the pool being every document but the one extracted,
  as a reviewer's answers would be.

Prints per task and system the harness's F1 (micro and per field), records/s, and
leaks: predicted strings that occur in no form in the document but are a value of an
example the model was shown ("lunch boxes" from an example invoice).

    python -m benchmarks.nearest --tasks contact,invoice,team,news --k 3 \\
        --json benchmarks/results/nearest.json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic_core import to_jsonable_python

import extract
from extract import Extractor, Nearest
from tests.corpus import TASKS, evaluation_data, strings


def leaks(prediction: Any, text: str, shown: list[tuple[str, Any]]) -> int:
    """Predicted strings (3+ characters) absent from the text but values of an example."""
    from_examples = {s.casefold() for _, value in shown for s in strings(to_jsonable_python(value))}
    folded = text.casefold()
    return sum(
        1
        for s in strings(prediction)
        if len(s) >= 3 and s.casefold() not in folded and s.casefold() in from_examples
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="contact,invoice,team,news")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--limit", type=int, help="documents per task (default: all)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    tasks = [t for t in args.tasks.split(",") if t]
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        parser.error(f"unknown task(s) {unknown}; known: {sorted(TASKS)}")
    model = Extractor()
    rows: list[dict[str, Any]] = []
    for task in tasks:
        target = TASKS[task][0]
        data, shots = evaluation_data(task, args.limit)
        first, scored = data[: args.k], data[args.k :]
        fixed = [*shots, *((text, gold) for _, text, gold in first)]
        pool = [*shots, *((text, gold) for _, text, gold in data)]
        nearest = Nearest(pool, args.k + len(shots))
        plan: dict[str, Any] = {
            "none": (model, {"examples": shots}),
            f"first:{args.k}": (model, {"examples": fixed}),
            f"nearest:{args.k}": (model, {"examples": nearest}),
        }
        report = extract.evaluate(target, scored, plan, progress=True)
        print(f"\n== {task}\n{report.render()}", flush=True)
        for name in report.systems:
            summary = report.summary(name).to_json()
            runs = [d for d in report.documents if d.system == name]
            texts = {doc_id: text for doc_id, text, _ in scored}
            leaked = 0
            for run in runs:
                if run.prediction is None:
                    continue
                text = texts[run.id]
                shown = {
                    "none": shots,
                    f"first:{args.k}": fixed,
                    f"nearest:{args.k}": nearest.pick(text),
                }[name]
                leaked += leaks(run.prediction, text, shown)
            rows.append(
                {
                    "task": task,
                    "system": name,
                    "documents": len(runs),
                    "f1": summary["micro"]["f1"],
                    "fields": {f: c["f1"] for f, c in summary["fields"].items()},
                    "records_per_s": summary["records_per_s"],
                    "leaks": leaked,
                }
            )
    print(table(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return 0


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| task | system | documents | F1 | records/s | leaked example values |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['system']} | {r['documents']} | {r['f1']:.3f} | "
            f"{r['records_per_s']:.2f} | {r['leaks']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
