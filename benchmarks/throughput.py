"""Many documents on one machine: ours one at a time, ours with several documents decoded
together (``run_many``), outlines and llama-cpp-python's JSON mode one at a time
(``--peers``), and llama.cpp's own server with parallel slots, on the same corpus
documents in one run.

    python -m benchmarks.throughput [--tasks contact,invoice,team,news] [--limit 24]
        [--sequences 4,8] [--server-parallel N] [--peers] [--prompt schema|fields]
        [--json OUT]

Each system has its own model instance (and the server its own process), the embedded
model, 2 threads, greedy decoding, a 512-token budget and our prompt (the schema, or
with ``--prompt fields`` the field list, in the system prompt, then the document). Per
task the systems run one after another in an order that rotates from task to task, so
drift on this noisy machine does not always hit the same one; compare the ratios.
``run_many`` sends ``concurrency`` = the number of sequences; the server gets the
same number of requests in flight, each with the task's JSON Schema, which it enforces
with its own grammar. Field F1 is the project's
scorer on the corpus gold; "same" counts documents whose value equals the one-at-a-time
value. After each task a raw replay (each document's prompt, then as many tokens as
ours sampled for it, argmax with no grammar, in a context of its own) gives the floor
that ours' one-at-a-time time is compared with.
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
from benchmarks._greedy import greedy
from extract.backends.llamacpp import LlamaCppBackend
from extract.core._model import default_model_path
from extract.core._prompt import build_messages
from extract.evaluation import Counts
from extract.schemas import compile_schema
from tests.corpus import TASKS, field_scores, load

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


class OursOneAtATime:
    """``Extractor.run`` per document; keeps what each document cost, for the replay."""

    def __init__(self, prompt: str) -> None:
        self.extractor = extract.Extractor(LlamaCppBackend(default_model_path(), n_threads=THREADS))
        self.prompt = prompt
        self.completion_tokens: list[int] = []  # per document, every attempt

    def __call__(self, target: Any, texts: list[str]) -> tuple[list[Any], int]:
        values: list[Any] = []
        calls = 0
        self.completion_tokens = []
        for text in texts:
            try:
                result = self.extractor.run(target, text, max_tokens=MAX_TOKENS, prompt=self.prompt)
            except extract.ExtractionError as failed:
                values.append(None)
                calls += len(failed.attempts)
                self.completion_tokens.append(failed.usage.completion_tokens)
                continue
            values.append(result.value)
            calls += len(result.attempts)
            self.completion_tokens.append(result.usage.completion_tokens)
        return values, calls


class RawReplay:
    """The floor for one-at-a-time decoding: each document's prompt evaluated (after the
    system prompt, held from the document before) and as many tokens as ours sampled
    for it, argmax after argmax with no grammar, one pass per token, in a context of
    its own. Ours' time over this is what the grammar, the retries and the Python
    around them cost."""

    def __init__(self, prompt: str) -> None:
        self.backend = LlamaCppBackend(default_model_path(), n_threads=THREADS)
        self.prompt = prompt

    def seconds(self, target: Any, texts: list[str], counts: list[int]) -> float:
        compiled = compile_schema(target)
        total = 0.0
        for text, count in zip(texts, counts, strict=True):
            messages = build_messages(
                compiled.json_schema, text, instructions=None, examples=(), target=target,
                prompt=self.prompt,
            )  # fmt: skip
            total += sum(greedy(self.backend, self.backend.prompt_tokens(messages), count))
        return total


def peer(make: Callable[[Any], Any], prompt: str) -> System:
    """A one-at-a-time peer from ``benchmarks/local.py`` on its own ``Llama``."""
    from benchmarks.local import new_llama

    run = make(new_llama(THREADS))

    def system(target: Any, texts: list[str]) -> tuple[list[Any], int]:
        outcomes = [run(target, text, prompt) for text in texts]
        return [o.value for o in outcomes], sum(o.calls for o in outcomes)

    return system


def ours_batched(sequences: int, prompt: str) -> System:
    backend = LlamaCppBackend(default_model_path(), n_threads=THREADS, sequences=sequences)
    extractor = extract.Extractor(backend)

    def run(target: Any, texts: list[str]) -> tuple[list[Any], int]:
        values: list[Any] = []
        calls = 0
        for outcome in extractor.run_many(
            target, texts, concurrency=sequences, max_tokens=MAX_TOKENS, prompt=prompt
        ):
            if outcome.result is not None:
                values.append(outcome.result.value)
                calls += len(outcome.result.attempts)
            else:  # a failed extraction used every attempt (2 retries by default)
                values.append(None)
                calls += 3
        return values, calls

    return run


def batching_server(url: str, parallel: int, prompt: str) -> System:
    from benchmarks._batching_server import extract_concurrently

    def run(target: Any, texts: list[str]) -> tuple[list[Any], int]:
        compiled = compile_schema(target)
        system = build_messages(
            compiled.json_schema, "", instructions=None, examples=(), target=target,
            prompt=prompt,
        )[0].content  # fmt: skip
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
    parser.add_argument(
        "--peers", action="store_true", help="add outlines and llama-cpp-python's JSON mode"
    )
    parser.add_argument("--prompt", choices=("schema", "fields"), default="schema")
    parser.add_argument("--json", dest="json_out", type=Path)
    args = parser.parse_args()

    first = OursOneAtATime(args.prompt)
    replay = RawReplay(args.prompt)
    replay_s = 0.0
    systems: dict[str, System] = {"ours, one at a time": first}
    for size in (int(s) for s in args.sequences.split(",") if s):
        systems[f"ours, run_many ({size} sequences)"] = ours_batched(size, args.prompt)
    if args.peers:
        from benchmarks.local import json_mode, outlines_system

        systems["outlines, one at a time"] = peer(outlines_system, args.prompt)
        systems["llama-cpp JSON mode, one at a time"] = peer(json_mode, args.prompt)
    with _server(args.server_parallel) as url:
        if url is not None:
            name = f"llama.cpp server, {args.server_parallel} slots"
            systems[name] = batching_server(url, args.server_parallel, args.prompt)
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
            replay.seconds(target, texts[-1:], first.completion_tokens[-1:])  # warm
            replay_s += replay.seconds(target, texts, first.completion_tokens)
            reference = rows[names[0]].values
            for name in names[1:]:
                rows[name].same += sum(
                    a == b and a is not None
                    for a, b in zip(reference, rows[name].values, strict=True)
                )
    summary = {name: row.summary() for name, row in rows.items()}
    efficiency = rows[names[0]].seconds / replay_s if replay_s else 0.0
    print(table(summary))
    print(
        f"\nOurs one at a time took {efficiency:.2f}x the raw replay's time (each "
        "document's prompt and ours' token count, greedy with no grammar)."
    )
    if args.json_out:
        payload = {"tasks": args.tasks, "limit": args.limit, "threads": THREADS,
                   "prompt": args.prompt, "systems": summary,
                   "raw_replay_s": replay_s, "ours_over_raw_replay": efficiency}  # fmt: skip
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
    for n, (name, row) in enumerate(summary.items()):
        same = "(reference)" if n == 0 else f"{row['same_as_one_at_a_time']:.0f}"
        lines.append(
            f"| {name} | {row['records_per_s']:.2f} | {row['records_per_s'] / base:.2f}x "
            f"| {row['valid']:.0f}/{row['documents']:.0f} | {row['calls_per_record']:.2f} "
            f"| {same} | {row['field_f1']:.3f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
