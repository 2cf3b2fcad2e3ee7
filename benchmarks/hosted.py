"""Hosted path side by side: ours vs instructor, against one OpenAI-compatible server.

llama-cpp-python's server runs the embedded model on 127.0.0.1, one server process per
system (same model and settings), so each system keeps its own prompt-prefix cache as
it would in a deployment: with one shared server, a system that happens to follow one
with the same system prompt gets its prefix evaluated for free. Every system talks to
its server through the official ``openai`` client, with the same system prompt (ours, which
states the schema), the same documents, greedy decoding, ``max_retries=2`` and a
512-token budget. Runs are interleaved document by document (ours, instructor tools,
instructor JSON mode, ours, ...) so machine drift hits all alike. HTTP requests are
counted on the client's transport, so retries are counted the same way for everyone.

    python backends/llama_build.py install && pip install -e '.[benchmarks]'  # the server
    python -m benchmarks.hosted [--limit 20] [--tasks contact,invoice,team] [--json OUT]

Reports per system: valid-object rate, HTTP requests per document (1 = no retry),
latency p50/p95 and field-level exact-match accuracy against the corpus's gold records.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.*, benchmarks.*

import openai

import extract
from extract.core._model import default_model_path
from extract.core._prompt import build_messages
from extract.evaluation import Counts
from extract.schemas import compile_schema
from tests.corpus import TASKS, field_scores, load
from tests.llama_server import running_llama_server

try:
    import httpx2 as http
except ImportError:  # older openai SDKs
    import httpx as http  # type: ignore[no-redef]

RETRIES = 2
MAX_TOKENS = 512


class Counted:
    """An OpenAI client whose HTTP requests are counted."""

    def __init__(self, url: str) -> None:
        self.requests = 0
        hooks = {"request": [self._count]}
        self.client = openai.OpenAI(
            api_key="not-needed",
            base_url=url,
            max_retries=0,
            timeout=300,
            http_client=http.Client(event_hooks=hooks, timeout=300),
        )

    def _count(self, _request: Any) -> None:
        self.requests += 1


System = Callable[[Any, str], Any]  # (target, text) -> value; raises when no valid value


def ours(counted: Counted) -> System:
    extractor = extract.Extractor(counted.client, model="smollm2", profile="llama-cpp-python")

    def run(target: Any, text: str) -> Any:
        return extractor.extract(target, text, max_retries=RETRIES, max_tokens=MAX_TOKENS)

    return run


def instructor_system(counted: Counted, mode_name: str) -> System:
    import instructor

    client = instructor.from_openai(counted.client, mode=getattr(instructor.Mode, mode_name))

    def run(target: Any, text: str) -> Any:
        system = build_messages(
            compile_schema(target).json_schema, text, instructions=None, examples=(), target=target
        )[0].content  # the same system prompt as ours
        return client.chat.completions.create(
            model="smollm2",
            response_model=target,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
            max_retries=RETRIES,
            temperature=0.0,
            max_tokens=MAX_TOKENS,
        )

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=20, help="documents per task")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--json", dest="json_out", type=Path)
    args = parser.parse_args()
    logging.getLogger("instructor").setLevel(logging.CRITICAL)  # it logs every failed try

    documents = [(task, doc) for task in args.tasks.split(",") for doc in load(task)[: args.limit]]
    stats: dict[str, dict[str, list[Any]]] = {}
    names = ("ours", "instructor TOOLS", "instructor JSON")
    with ExitStack() as servers:
        clients = {
            name: Counted(servers.enter_context(running_llama_server(str(default_model_path()))))
            for name in names
        }
        systems: dict[str, System] = {
            "ours": ours(clients["ours"]),
            "instructor TOOLS": instructor_system(clients["instructor TOOLS"], "TOOLS"),
            "instructor JSON": instructor_system(clients["instructor JSON"], "JSON"),
        }
        for name in systems:
            stats[name] = {"valid": [], "requests": [], "seconds": [], "fields": []}
        for number, (task, doc) in enumerate(documents, 1):
            target = TASKS[task][0]
            for name, run in systems.items():  # interleaved
                counted = clients[name]
                before = counted.requests
                started = time.perf_counter()
                try:
                    value = run(target, doc.text)
                except Exception:  # no valid value: counted as such, with its requests
                    value = None
                seconds = time.perf_counter() - started
                fields = field_scores(task, value, doc.gold)
                row = stats[name]
                row["valid"].append(value is not None)
                row["requests"].append(counted.requests - before)
                row["seconds"].append(seconds)
                row["fields"].append(fields)
            print(f"\r{number}/{len(documents)} documents", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)

    summary = {name: _summarise(row) for name, row in stats.items()}
    print(f"{len(documents)} documents ({args.tasks}), max_retries={RETRIES}, a server each\n")
    print("| system | valid | requests/doc | p50 s | p95 s | field F1 | ours p50 / this |")
    print("|---|---|---|---|---|---|---|")
    base = summary["ours"]["p50_s"]
    for name, s in summary.items():
        print(
            f"| {name} | {s['valid_rate']:.0%} | {s['requests_per_doc']:.2f} | {s['p50_s']:.2f} "
            f"| {s['p95_s']:.2f} | {s['field_f1']:.3f} | {base / s['p50_s']:.2f}x |"
        )
    if args.json_out:
        payload = {"documents": len(documents), "tasks": args.tasks, "systems": summary}
        args.json_out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


def _summed(counts: list[Any]) -> Counts:
    total = Counts()
    for c in counts:
        total.add(c)
    return total


def _summarise(row: dict[str, list[Any]]) -> dict[str, float]:
    seconds = sorted(row["seconds"])
    return {
        "valid_rate": sum(row["valid"]) / len(row["valid"]),
        "requests_per_doc": statistics.mean(row["requests"]),
        "p50_s": statistics.median(seconds),
        "p95_s": seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))],
        "field_f1": _summed(row["fields"]).f1,
    }


if __name__ == "__main__":
    sys.exit(main())
