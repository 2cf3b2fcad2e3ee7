"""One model against ensembles of it, on the corpus, with the evaluation harness.

Systems, each on its own model instance (its own prompt cache), documents interleaved:

- ``single``: the embedded model, greedy, the JSON Schema prompt (the default);
- ``fields``: the same with the field-list prompt;
- ``samples``: five samples at temperature 0.4 (seeds 0-4), voted;
- ``vote``: three members on one model: greedy with the schema, greedy with the field
  list, and the field list sampled at 0.4.

Prints each task's report (F1 per field, records/s, and how often values are right when
every member agreed and when they split) and a summary; ``--json-dir`` keeps the
reports. The news task shows its first two documents as examples, as elsewhere.

    python -m benchmarks.ensemble --tasks contact,invoice,team,news \\
        --json-dir benchmarks/results
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import extract
from extract import Ensemble, Extractor, Member
from tests.corpus import TASKS, evaluation_data


def systems() -> dict[str, Any]:
    vote_model = Extractor()
    return {
        "single": Extractor(),
        "fields": (Extractor(), {"prompt": "fields"}),
        "samples": Ensemble([Extractor()], samples=5, temperature=0.4),
        "vote": Ensemble(
            [
                Member(vote_model, name="schema"),
                Member(vote_model, options={"prompt": "fields"}, name="fields"),
                Member(
                    vote_model,
                    options={"prompt": "fields", "temperature": 0.4, "seed": 0},
                    name="fields@0.4",
                ),
            ]
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="contact,invoice,team,news")
    parser.add_argument("--limit", type=int, help="documents per task (default: all)")
    parser.add_argument("--json-dir", help="write ensemble-<task>.json reports here")
    args = parser.parse_args()
    tasks = [t for t in args.tasks.split(",") if t]
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        parser.error(f"unknown task(s) {unknown}; known: {sorted(TASKS)}")
    if args.json_dir and not os.path.isdir(args.json_dir):
        parser.error(f"--json-dir {args.json_dir}: not a directory")
    plan = systems()
    rows = []
    for task in tasks:
        target = TASKS[task][0]
        data, examples = evaluation_data(task, args.limit)
        report = extract.evaluate(target, data, plan, examples=examples, progress=True)
        print(f"\n== {task}\n{report.render()}", flush=True)
        if args.json_dir:
            report.save(os.path.join(args.json_dir, f"ensemble-{task}.json"))
        for name in report.systems:
            rows.append((task, name, report.summary(name).to_json()))
    print(summary(rows))
    return 0


def summary(rows: list[tuple[str, str, dict[str, Any]]]) -> str:
    """One line per task and system: F1, records/s against ``single``, agreement."""
    lines = [
        "| task | system | F1 | precision | recall | records/s | vs single "
        "| values unanimous (right) | values split (right) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    base = {task: s["records_per_s"] for task, name, s in rows if name == "single"}
    for task, name, s in rows:
        agreement = s.get("by_confidence")
        cells = ["", ""]
        if agreement:
            cells = [
                f"{b['values']} ({b['accuracy']:.3f})"
                for b in (agreement["unanimous"], agreement["split"])
            ]
        speed = s["records_per_s"] / base[task] if base.get(task) else 0.0
        lines.append(
            f"| {task} | {name} | {s['micro']['f1']:.3f} | {s['micro']['precision']:.3f} | "
            f"{s['micro']['recall']:.3f} | {s['records_per_s']:.2f} | {speed:.2f}x | "
            f"{cells[0]} | {cells[1]} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
