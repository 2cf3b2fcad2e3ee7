"""Many documents on one machine: ours one at a time, ours with several documents decoded
together (``run_many``), and llama.cpp's own server with parallel slots, on the same
corpus documents in one run.

    python benchmarks/throughput.py [--tasks contact,invoice,team,news] [--limit 24]
        [--sequences 4,8] [--server-parallel N] [--json OUT]

Each system has its own model instance (and the server its own process), the embedded
model, 2 threads, greedy decoding, a 512-token budget and our prompt (the schema in the
system prompt, then the document). Per task the systems run one after another in an
order that rotates from task to task, so drift on this noisy machine does not always
hit the same one; compare the ratios. ``run_many`` sends ``concurrency`` = the number
of sequences; the server gets the same number of requests in flight, each with the
task's JSON Schema, which it enforces with its own grammar. Field F1 is the project's
scorer on the corpus gold; "same" counts documents whose value equals the one-at-a-time
value.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.*

from pydantic import TypeAdapter, ValidationError

import extract
from backends.llamacpp import LlamaCppBackend
from benchmarks.corpus import TASKS, field_scores, load
from extract._model import default_model_path
from extract._prompt import build_messages
from extract.evaluation import Counts
from schemas import compile_schema

MAX_TOKENS = 512
THREADS = 2


@dataclass
class Row:
    seconds: float = 0.0
    documents: int = 0
    valid: int = 0
    calls: int = 0
    same: int = 0
    fields: Counts = field(default_factory=Counts)
    values: list[Any] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        return {
            "documents": self.documents,
            "seconds": self.seconds,
            "records_per_s": self.documents / self.seconds if self.seconds else 0.0,
            "valid": self.valid,
            "calls_per_record": self.calls / max(1, self.documents),
            "same_as_one_at_a_time": self.same,
            "field_f1": self.fields.f1,
        }


System = Callable[[Any, list[str]], tuple[list[Any], int]]  # values (None: failed), calls


def ours_one_at_a_time() -> System:
    extractor = extract.Extractor(LlamaCppBackend(default_model_path(), n_threads=THREADS))

    def run(target: Any, texts: list[str]) -> tuple[list[Any], int]:
        values: list[Any] = []
        calls = 0
        for text in texts:
            try:
                result = extractor.run(target, text, max_tokens=MAX_TOKENS)
            except extract.ExtractionError as failed:
                values.append(None)
                calls += len(failed.attempts)
                continue
            values.append(result.value)
            calls += len(result.attempts)
        return values, calls

    return run


def ours_batched(sequences: int) -> System:
    backend = LlamaCppBackend(default_model_path(), n_threads=THREADS, sequences=sequences)
    extractor = extract.Extractor(backend)

    def run(target: Any, texts: list[str]) -> tuple[list[Any], int]:
        values: list[Any] = []
        calls = 0
        for outcome in extractor.run_many(
            target, texts, concurrency=sequences, max_tokens=MAX_TOKENS
        ):
            if outcome.result is not None:
                values.append(outcome.result.value)
                calls += len(outcome.result.attempts)
            else:  # a failed extraction used every attempt (2 retries by default)
                values.append(None)
                calls += 3
        return values, calls

    return run


def batching_server(url: str, parallel: int) -> System:
    from benchmarks._batching_server import extract_concurrently

    def run(target: Any, texts: list[str]) -> tuple[list[Any], int]:
        compiled = compile_schema(target)
        system = build_messages(
            compiled.json_schema, "", instructions=None, examples=(), target=target
        )[0].content
        answers, _ = extract_concurrently(
            url, compiled.json_schema, system, texts, parallel, max_tokens=MAX_TOKENS
        )
        adapter: TypeAdapter[Any] = TypeAdapter(target)
        values: list[Any] = []
        for answer in answers:
            try:
                values.append(adapter.validate_json(answer))
            except ValidationError:
                values.append(None)
        return values, len(texts)

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="contact,invoice,team,news")
    parser.add_argument("--limit", type=int, default=24, help="documents per task")
    parser.add_argument("--sequences", default="4,8", help="run_many sizes to measure")
    parser.add_argument("--server-parallel", type=int, default=0, help="0: no server peer")
    parser.add_argument("--json", dest="json_out", type=Path)
    args = parser.parse_args()

    systems: dict[str, System] = {"ours, one at a time": ours_one_at_a_time()}
    for size in (int(s) for s in args.sequences.split(",") if s):
        systems[f"ours, run_many ({size} sequences)"] = ours_batched(size)
    with _server(args.server_parallel) as url:
        if url is not None:
            name = f"llama.cpp server, {args.server_parallel} slots"
            systems[name] = batching_server(url, args.server_parallel)
        rows = {name: Row() for name in systems}
        names = list(systems)
        for turn, task in enumerate(args.tasks.split(",")):
            target = TASKS[task][0]
            docs = load(task)[: args.limit]
            texts = [doc.text for doc in docs]
            for system in systems.values():
                system(target, texts[-1:])  # every system holds the task's system prompt
            order = names[turn % len(names) :] + names[: turn % len(names)]
            reference: list[Any] = []
            for name in order:
                started = time.perf_counter()
                values, calls = systems[name](target, texts)
                seconds = time.perf_counter() - started
                row = rows[name]
                row.seconds += seconds
                row.documents += len(docs)
                row.calls += calls
                row.valid += sum(v is not None for v in values)
                for doc, value in zip(docs, values, strict=True):
                    row.fields.add(field_scores(task, value, doc.gold))
                row.values = values
                print(f"{task}: {name} {len(docs) / seconds:.2f} records/s", file=sys.stderr)
            reference = rows[names[0]].values
            for name in names[1:]:
                rows[name].same += sum(
                    a == b and a is not None
                    for a, b in zip(reference, rows[name].values, strict=True)
                )
    summary = {name: row.summary() for name, row in rows.items()}
    print(table(summary))
    if args.json_out:
        payload = {"tasks": args.tasks, "limit": args.limit, "threads": THREADS,
                   "systems": summary}  # fmt: skip
        args.json_out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


class _server:
    """The batching server peer, started for the run and stopped after (None: off)."""

    def __init__(self, parallel: int) -> None:
        self.parallel = parallel
        self._context: Any = None

    def __enter__(self) -> str | None:
        if not self.parallel:
            return None
        from benchmarks._batching_server import running_batching_server

        self._context = running_batching_server(
            str(default_model_path()), parallel=self.parallel, threads=THREADS, n_ctx=4096
        )
        return str(self._context.__enter__())

    def __exit__(self, *exc: object) -> None:
        if self._context is not None:
            self._context.__exit__(*exc)


def table(summary: dict[str, dict[str, float]]) -> str:
    base = next(iter(summary.values()))["records_per_s"]
    lines = [
        "| system | records/s | vs one at a time | valid | calls/record | same value | field F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in summary.items():
        lines.append(
            f"| {name} | {row['records_per_s']:.2f} | {row['records_per_s'] / base:.2f}x "
            f"| {row['valid']:.0f}/{row['documents']:.0f} | {row['calls_per_record']:.2f} "
            f"| {row['same_as_one_at_a_time']:.0f} | {row['field_f1']:.3f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
