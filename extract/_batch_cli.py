"""``extract run``: documents from files, folders, globs or JSON Lines to one JSON line
each, with progress, a result cache, worker processes and resumable output."""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from ._batch import (
    Batch,
    Document,
    Outcome,
    Tally,
    concurrency_for,
    documents,
    in_pool,
    outcome_line,
    run_threads,
)
from ._cache import default_cache_path
from ._errors import UsageError
from ._progress import ProgressDisplay
from ._targets import batch_for

_GLOB = set("*?[")


def read_inputs(specs: Iterable[str]) -> Iterator[Document | Outcome]:
    """Every document named by ``specs``, in order; what cannot be read is a failed
    outcome with the reason, never a crash.

    A ``.jsonl`` file gives one document per line (``{"id": ..., "text": ...}``; the id
    defaults to ``FILE:LINE``), a ``.parquet`` file one per row (``text`` and optional
    ``id`` columns; ``FILE:ROW``); a folder gives each file under it; a glob each match;
    any other file is one document whose id is its path.
    """
    return documents(_records(specs), kind="InputError")


def _records(specs: Iterable[str]) -> Iterator[dict[str, Any] | Outcome]:
    for spec in specs:
        paths = expand(spec)
        if not paths:
            yield Outcome(spec, error=f"InputError: no file matches {spec!r}")
        for path in paths:
            if path.endswith(".jsonl"):
                yield from _jsonl_records(path)
            elif path.endswith(".parquet"):
                yield from _parquet_records(path)
            else:
                yield _file_record(path)


def expand(spec: str) -> list[str]:
    """The files one ``--input`` names: a glob's matches, a folder's files (hidden ones
    left out), or the path itself."""
    if any(c in _GLOB for c in spec) and not os.path.exists(spec):
        return sorted(p for p in glob.glob(spec, recursive=True) if os.path.isfile(p))
    if os.path.isdir(spec):
        return sorted(
            str(p)
            for p in Path(spec).rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(spec).parts)
        )
    return [spec]


def count_inputs(specs: Iterable[str]) -> int:
    """About how many documents ``read_inputs`` will give (for the ETA), without
    parsing: a file counts one, a ``.jsonl`` file its non-blank lines."""
    total = 0
    for spec in specs:
        for path in expand(spec) or [spec]:
            if path.endswith(".parquet"):
                total += _parquet_rows(path)
                continue
            if not path.endswith(".jsonl"):
                total += 1
                continue
            try:
                with open(path, "rb") as f:
                    total += sum(1 for line in f if line.strip())
            except OSError:
                total += 1
    return total


def _file_record(path: str) -> dict[str, Any] | Outcome:
    try:
        with open(path, encoding="utf-8") as f:
            return {"id": path, "text": f.read(), "where": path}
    except (OSError, UnicodeDecodeError) as exc:
        return Outcome(path, error=f"InputError: cannot read {path}: {exc}")


def _jsonl_records(path: str) -> Iterator[dict[str, Any] | Outcome]:
    try:
        f = open(path, encoding="utf-8")  # noqa: SIM115 - closed below, read lazily
    except OSError as exc:
        yield Outcome(path, error=f"InputError: cannot read {path}: {exc}")
        return
    with f:
        number = 0
        try:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                fallback = f"{path}:{number}"
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    yield Outcome(fallback, error=f"InputError: line {number} is not JSON: {exc}")
                    continue
                if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                    yield Outcome(fallback, error=f'InputError: line {number} has no "text" string')
                    continue
                ident = str(record.get("id", fallback))
                yield {"id": ident, "text": record["text"], "where": fallback}
        except UnicodeDecodeError as exc:
            yield Outcome(f"{path}:{number + 1}", error=f"InputError: not UTF-8: {exc}")


def _parquet_records(path: str) -> Iterator[dict[str, Any] | Outcome]:
    """A Parquet file's rows: a ``text`` column and, optionally, ``id`` (default
    ``FILE:ROW``)."""
    try:
        import pyarrow.parquet
    except ImportError:
        message = "reading Parquet needs pyarrow: pip install 'structured-extract[ray]'"
        yield Outcome(path, error=f"InputError: {message}")
        return
    try:
        table = pyarrow.parquet.ParquetFile(path)
        names = table.schema_arrow.names
    except Exception as exc:  # pyarrow raises several types for unreadable files
        yield Outcome(path, error=f"InputError: cannot read {path}: {exc}")
        return
    if "text" not in names:
        yield Outcome(path, error=f'InputError: {path} has no "text" column')
        return
    number = 0
    batches = table.iter_batches(columns=["text", *(["id"] if "id" in names else [])])
    while True:
        try:
            batch = next(batches, None)
        except Exception as exc:  # a damaged row group: the rest of the file is lost
            where = f"{path}:{number + 1}"
            yield Outcome(where, error=f"InputError: cannot read {path} after row {number}: {exc}")
            return
        if batch is None:
            return
        for row in batch.to_pylist():
            number += 1
            fallback = f"{path}:{number}"
            if not isinstance(row["text"], str):
                yield Outcome(fallback, error=f'InputError: row {number} has no "text" string')
                continue
            ident = fallback if row.get("id") is None else str(row["id"])
            yield {"id": ident, "text": row["text"], "where": fallback}


def _parquet_rows(path: str) -> int:
    try:
        import pyarrow.parquet

        table = pyarrow.parquet.ParquetFile(path)
        if "text" not in table.schema_arrow.names:
            return 1  # reported as one failed input
        return int(table.metadata.num_rows)
    except Exception:  # unreadable: reported as one failed input
        return 1


class ResumableOutput:
    """JSON Lines appended and flushed per line, synced to disk at least once a second.

    Opening an existing file keeps its complete lines, drops a last line cut off by a
    crash, and remembers the ids already written, so a rerun skips them. Error lines
    whose ids are in ``retry`` are taken out first (the file is rewritten whole, then
    swapped in), so those ids are extracted again and still appear once.
    """

    def __init__(self, path: str | None, retry: Collection[str] = ()) -> None:
        self.done: set[str] = set()
        self.dropped = 0  # error lines taken out for a retry
        self.path = path
        self._synced = time.monotonic()
        if path is None:
            self._file: TextIO = sys.stdout
            return
        if os.path.exists(path):
            self._recover(path, retry)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def _recover(self, path: str, retry: Collection[str]) -> None:
        with open(path, "rb+") as f:
            data = f.read()
            keep = data.rfind(b"\n") + 1  # a last line without "\n" was cut off
            if keep < len(data):
                f.truncate(keep)
        kept: list[bytes] = []
        for raw in data[:keep].splitlines(keepends=True):
            try:
                record = json.loads(raw)
            except ValueError:
                kept.append(raw)
                continue
            if not (isinstance(record, dict) and "id" in record):
                kept.append(raw)
            elif "error" in record and str(record["id"]) in retry:
                self.dropped += 1
            else:
                kept.append(raw)
                self.done.add(str(record["id"]))
        if self.dropped:
            staged = f"{path}.retry"
            with open(staged, "wb") as f:
                f.writelines(kept)
                f.flush()
                os.fsync(f.fileno())
            os.replace(staged, path)  # a crash leaves the old file or the new one, whole

    def write(self, line: dict[str, Any]) -> None:
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._file.flush()
        if self.path is not None and time.monotonic() - self._synced >= 1.0:
            os.fsync(self._file.fileno())
            self._synced = time.monotonic()

    def close(self) -> None:
        if self.path is None:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()


# -- worker processes: one model each ---------------------------------------------

_worker_batch: Batch | None = None


def _start_worker(
    schema: str, model: str | None, backend: str | None, threads: int, cache: str | None,
    options: dict[str, Any],
) -> None:  # fmt: skip
    global _worker_batch
    _worker_batch = batch_for(schema, model, backend, cache, options, threads)


def _work_in_worker(doc: Document) -> dict[str, Any]:
    assert _worker_batch is not None, "worker not started"
    return outcome_line(_worker_batch.run(doc), _worker_batch.target)


def cmd_run(args: argparse.Namespace) -> int:
    specs = [*(args.input or []), *args.files]
    if not specs:
        raise UsageError("extract run: give --input (a .jsonl file, a folder or a glob) or files")
    if args.workers is not None and args.workers < 1:
        raise UsageError("extract run: --workers must be at least 1")
    cache = None if args.no_cache else str(args.cache or default_cache_path())
    options = {"max_retries": args.max_retries}
    if args.retry_failed and not args.output:
        raise UsageError("extract run: --retry-failed needs --output (the file to retry)")
    # Only failures this run will meet again are taken out (a reading pass for the ids).
    retry = {item.id for item in read_inputs(specs)} if args.retry_failed else set()
    output = ResumableOutput(args.output, retry=retry)
    if output.dropped:
        print(f"retrying {output.dropped} failed ids from {args.output}", file=sys.stderr)
    if output.done:
        print(f"resuming: {len(output.done)} ids already in {args.output}", file=sys.stderr)
    pending = (item for item in read_inputs(specs) if item.id not in output.done)
    tally = Tally(total=None if args.quiet else max(0, count_inputs(specs) - len(output.done)))
    try:
        with ProgressDisplay(tally, args.quiet) as tick:
            for line in _lines(pending, args, cache, options):
                output.write(line)
                tally.add(line)
                tick()
    finally:
        output.close()
    print(tally.summary(), file=sys.stderr)
    return 1 if tally.failed else 0


def _lines(
    pending: Iterable[Document | Outcome],
    args: argparse.Namespace,
    cache: str | None,
    options: dict[str, Any],
) -> Iterator[dict[str, Any]]:
    if args.engine == "ray":
        from .ray import run_lines

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
        try:
            for outcome in run_threads(
                pending, batch.run, concurrency_for(batch.source, args.concurrency), args.order
            ):
                yield outcome_line(outcome, batch.target)
        finally:
            batch.close()
        return
    initargs = (args.schema, args.model, args.backend, threads, cache, options)
    with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=initargs) as pool:

        def submit(doc: Document) -> Future[dict[str, Any]]:
            return pool.submit(_work_in_worker, doc)

        yield from in_pool(
            pending, submit, lambda o: {"id": o.id, "error": o.error}, 2 * workers, args.order
        )


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
        "--model", help="GGUF path, openai:MODEL or anthropic:MODEL (default: the embedded model)"
    )
    run.add_argument(
        "--backend", help="package.module:factory returning a backends.Backend (instead of --model)"
    )
    run.add_argument("--max-retries", type=int, default=2)
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
    run.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="run on this machine, or on a Ray cluster (needs the 'ray' extra)",
    )
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
    run.add_argument("--order", choices=("input", "completed"), default="completed")
    run.add_argument("--cache", help="result cache file (default: $EXTRACT_CACHE or ~/.cache)")
    run.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    run.add_argument("--quiet", action="store_true", help="no progress, only the summary")
    run.add_argument("files", nargs="*", help="documents (the same as --input)")
    run.set_defaults(func=cmd_run)
