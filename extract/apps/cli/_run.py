"""``extract run``: documents from files, folders, globs or JSON Lines to one JSON line
each, with progress, a result cache, worker processes and resumable output."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from extract.apps._targets import batch_for, load_target
from extract.core._budget import Budget, check_tokens
from extract.core._errors import UsageError
from extract.features.batch import (
    Document,
    Outcome,
    ProgressDisplay,
    ResumableOutput,
    Tally,
    count_inputs,
    default_cache_path,
    outcome_line,
    read_inputs,
    run_threads,
)

from ._workers import lines_in_processes


def _nearest_examples(args: argparse.Namespace) -> Any:
    """``--examples PATH``: the reviewed records, each document shown its nearest."""
    from extract.apps.evaluation import Dataset
    from extract.core._nearest import Nearest

    target = load_target(args.schema)
    pool = [(d.text, d.gold) for d in Dataset.from_jsonl(args.examples, target)]
    return Nearest(pool, args.nearest)


def cmd_run(args: argparse.Namespace) -> int:
    specs = [*(args.input or []), *args.files]
    if not specs:
        raise UsageError("extract run: give --input (a .jsonl file, a folder or a glob) or files")
    if args.workers is not None and args.workers < 1:
        raise UsageError("extract run: --workers must be at least 1")
    cache = None if args.no_cache else str(args.cache or default_cache_path())
    options: dict[str, Any] = {"max_retries": args.max_retries, "prompt": args.prompt}
    if args.samples != 1:
        options["samples"] = args.samples
    if args.temperature is not None:
        options["temperature"] = args.temperature
    if args.min_confidence is not None:
        options["min_confidence"] = args.min_confidence
    if args.examples is not None:
        options["examples"] = _nearest_examples(args)
    if args.calibration is not None:
        from extract.core._calibration import Calibration

        options["calibration"] = Calibration.load(args.calibration)  # once, not per document
    if args.samples < 1:
        raise UsageError("extract run: --samples must be at least 1")
    models = args.model or [None]
    if args.backend and args.model:
        raise UsageError("extract run: give --model or --backend, not both")
    if args.engine == "ray" and (len(models) > 1 or args.samples > 1):
        raise UsageError("extract run: an ensemble (several --model, --samples) runs on the "
                         "local engine")  # fmt: skip
    args.model = models[0] if len(models) == 1 else models
    if args.stream:
        from ._stream import stream_one

        return stream_one(args, specs, options)
    if args.budget_tokens is not None:
        check_tokens(args.budget_tokens, "--budget-tokens")
        if args.engine == "ray" or (args.workers or 1) > 1:
            raise UsageError("extract run: --budget-tokens counts in one process: "
                             "use the local engine and one worker")  # fmt: skip
    if args.retry_failed and not args.output:
        raise UsageError("extract run: --retry-failed needs --output (the file to retry)")
    # A first pass counts the documents for the ETA (without parsing them), or, to
    # retry, reads their ids: only failures this run will meet again are taken out.
    retry: set[str] = set()
    total = 0
    if args.retry_failed:
        retry = {item.id for item in read_inputs(specs)}
        total = len(retry)
    elif not args.quiet:
        total = count_inputs(specs)
    output = ResumableOutput(args.output, retry=retry)
    if output.dropped:
        print(f"retrying {output.dropped} failed ids from {args.output}", file=sys.stderr)
    if output.done:
        print(f"resuming: {len(output.done)} ids already in {args.output}", file=sys.stderr)
    pending = (item for item in read_inputs(specs) if item.id not in output.done)
    tally = Tally(total=None if args.quiet else max(0, total - len(output.done)))
    try:
        with ProgressDisplay(tally, args.quiet) as tick:
            for line in _lines(pending, args, cache, options):
                output.write(line)
                tally.add_line(line)
                tick()
    finally:
        output.close()
    print(tally.summary(), file=sys.stderr)
    return 1 if tally.failed else 0


def _lines(
    pending: Iterable[Document | Outcome[Any]],
    args: argparse.Namespace,
    cache: str | None,
    options: dict[str, Any],
) -> Iterator[dict[str, Any]]:
    if args.engine == "ray":
        from extract.apps.ray import run_lines

        yield from run_lines(
            iter(pending),
            args.schema,
            address=args.ray_address,
            order=args.order,
            model=args.model,
            backend=args.backend,
            workers=args.workers,
            threads=args.threads or 1,
            concurrency=args.concurrency,
            cache=cache,
            **options,
        )
        return
    workers = args.workers or 1
    threads = args.threads or max(1, (os.cpu_count() or 1) // workers)
    if workers == 1:
        batch = batch_for(args.schema, args.model, args.backend, cache, options, threads)
        if args.budget_tokens is not None:  # one budget for every document of the run
            budget = Budget(args.budget_tokens, "batch")
            batch.options = dataclasses.replace(batch.options, budgets=(budget,))
        try:
            for outcome in run_threads(
                pending, batch.run, batch.workers(args.concurrency), args.order
            ):
                yield outcome_line(outcome, batch.target)
        finally:
            batch.close()
        return
    initargs = (args.schema, args.model, args.backend, threads, cache, options)
    yield from lines_in_processes(pending, workers, args.order, initargs)


def add_run_parser(sub: Any) -> None:
    run = sub.add_parser(
        "run", help="extract one record per document, as JSON lines (resumable, cached)"
    )
    run.add_argument("--schema", required=True, help="package.module:Model or schema.json")
    run.add_argument(
        "--input",
        action="append",
        help="a .jsonl file ({id, text} per line), a folder, a glob or a file; repeatable",
    )
    run.add_argument("--output", help="JSON Lines to append to (rerun to resume); default stdout")
    run.add_argument(
        "--model",
        action="append",
        help="GGUF path, openai:MODEL or anthropic:MODEL (default: the embedded model); "
        "repeat it to vote several models' answers field by field (an extract.Ensemble)",
    )
    run.add_argument(
        "--samples",
        type=int,
        default=1,
        help="answers per model, sampled at --temperature with seeds 0, 1... and voted",
    )
    run.add_argument(
        "--temperature",
        type=float,
        help="sampling temperature (default 0: greedy; 0.7 for --samples)",
    )
    run.add_argument(
        "--backend", help="package.module:factory returning a backends.Backend (instead of --model)"
    )
    run.add_argument("--max-retries", type=int, default=2)
    run.add_argument(
        "--min-confidence",
        type=float,
        help="leave out values less sure than this (0 to 1): optional ones become null, "
        "required ones are listed as uncertain",
    )
    run.add_argument(
        "--examples",
        metavar="PATH",
        help="reviewed or gold JSONL; each document is shown its --nearest most similar "
        "records from it as examples",
    )
    run.add_argument("--nearest", type=int, default=3, help="examples per document (default 3)")
    run.add_argument(
        "--calibration",
        metavar="PATH",
        help="map confidences through this calibration (`extract eval --fit-calibration`)",
    )
    run.add_argument(
        "--prompt",
        choices=("schema", "fields"),
        default="schema",
        help="what the system prompt shows: the JSON Schema, or a short field list",
    )
    run.add_argument(
        "--workers",
        type=int,
        help="processes (local engine, default 1) or Ray actors (default: CPUs / --threads), "
        "one model each",
    )
    run.add_argument(
        "--threads",
        type=int,
        help="threads per local model (default: the CPUs shared out; 1 with --engine ray)",
    )
    engine = "run on this machine, or on a Ray cluster (needs the 'ray' extra)"
    run.add_argument("--engine", choices=("local", "ray"), default="local", help=engine)
    run.add_argument(
        "--ray-address", help="Ray cluster to join (default: $RAY_ADDRESS, else start one here)"
    )
    run.add_argument(
        "--concurrency", type=int, help="requests in flight for a hosted model (default 8)"
    )
    run.add_argument(
        "--retry-failed",
        action="store_true",
        help="take the error lines out of --output and extract those documents again",
    )
    order = "lines in input order (default) or as documents finish"
    run.add_argument("--order", choices=("input", "completed"), default="input", help=order)
    run.add_argument("--cache", help="result cache file (default: $EXTRACT_CACHE or ~/.cache)")
    run.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    run.add_argument("--quiet", action="store_true", help="no progress, only the summary")
    run.add_argument(
        "--budget-tokens",
        type=int,
        help="tokens the whole run may spend; once spent, the documents left are written "
        "as BudgetExceededError lines (one process, the local engine)",
    )
    run.add_argument(
        "--stream",
        action="store_true",
        help="one document: print snapshots of the record as JSON lines while the model "
        "writes it, then the result line",
    )
    run.add_argument("files", nargs="*", help="documents (the same as --input)")
    run.set_defaults(func=cmd_run)
