"""The LLM as the compiler of a pipeline: label, distill, and compare with the harness.

1. The embedded model (SmolLM2-135M, greedy, the default prompt) labels a pool of
   generated contact documents (``tests/corpus/synthetic.py``).
2. ``extract.distill`` trains two students on the pool: one on the LLM's labels (no
   person involved), one on the gold records (what a review would give).
3. ``extract.evaluate`` scores the LLM and both students, each its own instance, on
   held-out generated documents and on the hand-written corpus contacts
   (``tests/corpus/contacts.jsonl``, 23 documents in other layouts than the
   generator's): F1 per field and records/s.

    python -m benchmarks.distill --pool 300 --json-dir benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any

import extract
from extract.apps.distill import distill
from tests.corpus import Contact
from tests.corpus.synthetic import contacts


def label(pool: list[dict[str, Any]], path: str) -> tuple[int, float]:
    """The LLM's records for ``pool`` as reviewed-format lines; (records, seconds)."""
    llm = extract.Extractor()
    started = time.perf_counter()
    kept = 0
    inputs = [(d["id"], d["text"]) for d in pool]
    texts = {d["id"]: d["text"] for d in pool}
    with open(path, "w", encoding="utf-8") as f:
        for outcome in llm.run_many(Contact, inputs, progress=True):
            if outcome.result is None:
                continue  # no record: nothing to learn from (counted below)
            gold = outcome.result.value.model_dump(mode="json", by_alias=True)
            f.write(json.dumps({"id": outcome.id, "text": texts[outcome.id], "gold": gold}) + "\n")
            kept += 1
    return kept, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", type=int, default=300, help="generated training documents")
    parser.add_argument("--test", type=int, default=60, help="generated held-out documents")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--json-dir", help="write distill-*.json reports here")
    parser.add_argument(
        "--work", help="folder for the labels and the students (default: temporary)"
    )
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="distill-")
    pool = contacts(args.pool, seed=1)
    held_out = contacts(args.test, seed=99, prefix="test")
    with open(os.path.join(work, "gold.jsonl"), "w", encoding="utf-8") as f:
        f.writelines(json.dumps(d) + "\n" for d in pool)

    kept, seconds = label(pool, os.path.join(work, "llm.jsonl"))
    print(f"LLM labels: {kept} of {len(pool)} documents in {seconds:.0f} s", file=sys.stderr)
    students = {}
    for name, data in (("llm", "llm.jsonl"), ("gold", "gold.jsonl")):
        done = distill(Contact, os.path.join(work, data), os.path.join(work, f"student-{name}"),
                       max_epochs=args.epochs)  # fmt: skip
        print(f"student on {name} labels: {done.summary()}", file=sys.stderr)
        students[name] = done

    systems = {
        "llm": extract.Extractor(),
        "student (LLM labels)": extract.Extractor(f"spacy:{students['llm'].model}"),
        "student (gold)": extract.Extractor(f"spacy:{students['gold'].model}"),
    }
    corpus = os.path.join(os.path.dirname(__file__), "corpus", "contacts.jsonl")
    for task, data in (("generated", held_out), ("corpus", corpus)):
        report = extract.evaluate(Contact, data, systems)
        print(f"\n== {task} ==")
        print(report.render())
        if args.json_dir:
            report.save(os.path.join(args.json_dir, f"distill-{task}.json"))
    for name, done in students.items():
        print(f"training on {name} labels: {done.trained.seconds:.0f} s, "
              f"{done.trained.train_documents} documents")  # fmt: skip
    print(f"labelling: {kept} records in {seconds:.0f} s ({kept / seconds:.2f} records/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
