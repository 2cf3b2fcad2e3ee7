"""Batch throughput: ``extract run`` with 1 vs N worker processes and with N Ray actors
on the embedded model, and ``arun_many`` against a loopback OpenAI-compatible server vs a
sequential loop.

    python -m benchmarks.batch [--docs 24] [--workers 2] [--json OUT]

Local: the same JSON Lines input (corpus contact documents, repeated to ``--docs``)
through the command a user runs, cache off, wall time including model loading, in one
run, alternating the settings. The Ray run joins a local Ray instance started just
before it (``ray.init``, timed apart), so its figure is the engine's overhead over the
process pool, not Ray's start-up. Hosted: llama-cpp-python's server with the embedded
model on 127.0.0.1, the same documents through ``Extractor.extract`` one by one and
through ``arun_many(concurrency=4)``, alternating, each with its own server so neither
inherits the other's prompt cache.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.*, benchmarks.*

import openai
import ray

import extract
from extract.core._model import default_model_path
from tests.corpus import TASKS, load
from tests.llama_server import running_llama_server

ROUNDS = 2


def local_run(inputs: Path, workers: int, out: Path, *engine: str) -> float:
    out.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "extract", "run", "--schema", "tests.corpus:Contact",
        "--input", str(inputs), "--output", str(out), "--no-cache", "--quiet",
        "--workers", str(workers), *engine,
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=False, capture_output=True, cwd=Path(__file__).parents[1])
    seconds = time.perf_counter() - started
    lines = out.read_text().splitlines()
    if len(lines) != sum(1 for _ in inputs.open()):
        raise SystemExit(f"{workers} workers wrote {len(lines)} lines: not every input")
    return seconds


def hosted_sequential(url: str, texts: list[str]) -> float:
    client = openai.OpenAI(api_key="not-needed", base_url=url, timeout=300)
    extractor = extract.Extractor(client, model="smollm2", profile="llama-cpp-python")
    started = time.perf_counter()
    for text in texts:
        with contextlib.suppress(extract.ExtractError):  # a failure is a finished document too
            extractor.extract(TASKS["contact"][0], text)
    return time.perf_counter() - started


def hosted_many(url: str, texts: list[str], concurrency: int) -> float:
    async def go() -> float:
        async with openai.AsyncOpenAI(api_key="not-needed", base_url=url, timeout=300) as client:
            extractor = extract.Extractor(client, model="smollm2", profile="llama-cpp-python")
            started = time.perf_counter()
            outcomes = [
                o
                async for o in extractor.arun_many(
                    TASKS["contact"][0], texts, concurrency=concurrency
                )
            ]
            assert len(outcomes) == len(texts)
            return time.perf_counter() - started

    return asyncio.run(go())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--hosted-docs", type=int, default=8)
    parser.add_argument("--json", dest="json_out", type=Path)
    args = parser.parse_args()
    corpus = [d.text for d in load("contact")]
    texts = [corpus[i % len(corpus)] for i in range(args.docs)]
    results: dict[str, Any] = {"docs": args.docs, "workers": args.workers}

    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "docs.jsonl"
        with inputs.open("w") as f:
            for i, text in enumerate(texts):
                f.write(json.dumps({"id": str(i), "text": text}) + "\n")
        local: dict[int, list[float]] = {1: [], args.workers: []}
        on_ray: list[float] = []
        ray_start: list[float] = []
        out = Path(tmp) / "out.jsonl"
        for _ in range(ROUNDS):
            for workers in local:
                local[workers].append(local_run(inputs, workers, out))
                print(f"local, {workers} worker(s): {local[workers][-1]:.1f} s", file=sys.stderr)
            started = time.perf_counter()
            ray.init(num_cpus=args.workers, include_dashboard=False, logging_level="ERROR")
            ray_start.append(time.perf_counter() - started)
            try:
                address = str(ray.get_runtime_context().gcs_address)
                on_ray.append(
                    local_run(
                        inputs, args.workers, out, "--engine", "ray", "--ray-address", address
                    )
                )
            finally:
                ray.shutdown()
            print(f"ray, {args.workers} actors: {on_ray[-1]:.1f} s", file=sys.stderr)
    one, many = (statistics.median(local[w]) for w in (1, args.workers))
    ray_s = statistics.median(on_ray)
    results["local"] = {
        "one_worker_records_per_s": args.docs / one,
        "n_workers_records_per_s": args.docs / many,
        "speedup": one / many,
        "ray_records_per_s": args.docs / ray_s,
        "ray_speedup": one / ray_s,
        "ray_over_process_pool_time": ray_s / many,
        "ray_start_s": statistics.median(ray_start),
    }

    hosted_texts = texts[: args.hosted_docs]
    path = str(default_model_path())
    with running_llama_server(path) as first, running_llama_server(path) as second:
        sequential, concurrent = [], []
        for _ in range(ROUNDS):
            sequential.append(hosted_sequential(first, hosted_texts))
            concurrent.append(hosted_many(second, hosted_texts, 4))
            print(f"hosted: {sequential[-1]:.1f} s vs {concurrent[-1]:.1f} s", file=sys.stderr)
    seq, conc = statistics.median(sequential), statistics.median(concurrent)
    results["hosted"] = {
        "sequential_records_per_s": len(hosted_texts) / seq,
        "arun_many_records_per_s": len(hosted_texts) / conc,
        "speedup": seq / conc,
    }

    local_r, hosted_r = results["local"], results["hosted"]
    print(f"\n{args.docs} contact documents, median of {ROUNDS} alternating rounds\n")
    print("| run | records/s | speed-up |\n|---|---|---|")
    print(f"| `extract run`, 1 worker | {local_r['one_worker_records_per_s']:.2f} | 1.00x |")
    print(
        f"| `extract run --workers {args.workers}` | {local_r['n_workers_records_per_s']:.2f} "
        f"| {local_r['speedup']:.2f}x |"
    )
    print(
        f"| `extract run --engine ray --workers {args.workers}` (running instance) "
        f"| {local_r['ray_records_per_s']:.2f} | {local_r['ray_speedup']:.2f}x |"
    )
    sequential_rate, many_rate = (
        hosted_r["sequential_records_per_s"],
        hosted_r["arun_many_records_per_s"],
    )
    print(f"| loopback server, sequential `extract` | {sequential_rate:.2f} | 1.00x |")
    print(
        f"| loopback server, `arun_many(concurrency=4)` | {many_rate:.2f} "
        f"| {hosted_r['speedup']:.2f}x |"
    )
    print(
        f"\nRay: {local_r['ray_over_process_pool_time']:.2f}x the process pool's wall time "
        f"for the same {args.workers} workers; starting the instance took "
        f"{local_r['ray_start_s']:.1f} s more."
    )
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
