"""Extraction over a Ray Data dataset, on one machine or a cluster.

``extract_dataset(ds, Model, model=...)`` maps the dataset's ``id``/``text`` rows through
a pool of Ray actors; each actor loads the model once and extracts its batches one
document at a time (or ``concurrency`` requests at once for a hosted model). Every row
comes out once, as a value or an error, in the flat, Arrow-friendly columns of
``ROW_COLUMNS``, so the result can be written with any Ray writer (``write_parquet``,
``write_json``) or read back as JSON lines with ``line_from_row``.

Needs the ``ray`` extra: ``pip install 'structured-extract[ray]'``.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from extract.core._errors import InputError, ModelLoadError, UsageError
from extract.features.batch import (
    Batch,
    Document,
    Outcome,
    outcome_line,
    run_threads,
)

from ._targets import batch_for, load_target

if TYPE_CHECKING:
    import pyarrow
    import ray.data

__all__ = ["ROW_COLUMNS", "extract_dataset", "line_from_row", "row_from_line", "row_schema"]

# The output columns. ``value`` is the record as a JSON string, so every schema (nested
# models, lists, unions) fits one Arrow column; ``json.loads`` gives it back.
_COLUMNS = (
    ("id", "string"),
    ("value", "string"),
    ("error", "string"),
    ("attempts", "int64"),
    ("prompt_tokens", "int64"),
    ("completion_tokens", "int64"),
    ("model", "string"),
    ("cached", "bool_"),
    ("seconds", "float64"),
)


ROW_COLUMNS = tuple(name for name, _ in _COLUMNS)


@functools.cache
def row_schema() -> pyarrow.Schema:
    """The Arrow schema of ``extract_dataset``'s output rows."""
    import pyarrow

    return pyarrow.schema([(name, getattr(pyarrow, kind)()) for name, kind in _COLUMNS])


def row_from_line(line: Mapping[str, Any], seconds: float = 0.0) -> dict[str, Any]:
    """An ``extract run`` output line as one flat dataset row."""
    usage = line.get("usage") or {}
    ok = "error" not in line
    return {
        "id": str(line["id"]),
        "value": json.dumps(line["value"], ensure_ascii=False) if ok else None,
        "error": None if ok else str(line["error"]),
        "attempts": int(line.get("attempts", 0)),
        "prompt_tokens": int(usage.get("prompt_tokens", 0)),
        "completion_tokens": int(usage.get("completion_tokens", 0)),
        "model": line.get("model"),
        "cached": bool(line.get("cached", False)),
        "seconds": float(seconds),
    }


def line_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A dataset row back as the JSON line ``extract run`` writes for it."""
    if row.get("error") is not None:
        spent = int(row.get("prompt_tokens") or 0), int(row.get("completion_tokens") or 0)
        if not any(spent):
            return {"id": row["id"], "error": row["error"]}
        usage = {"prompt_tokens": spent[0], "completion_tokens": spent[1]}
        return {"id": row["id"], "error": row["error"], "usage": usage}  # what it spent
    return {
        "id": row["id"],
        "value": json.loads(row["value"]),
        "attempts": int(row["attempts"]),
        "usage": {
            "prompt_tokens": int(row["prompt_tokens"]),
            "completion_tokens": int(row["completion_tokens"]),
        },
        "model": row["model"],
        "cached": bool(row["cached"]),
    }


class _ExtractActor:
    """One Ray actor: the model loaded once, then batches of rows extracted in turn."""

    def __init__(self, settings: dict[str, Any]) -> None:
        s = settings
        self.batch: Batch = batch_for(
            s["target"], s["model"], s["backend"], s["cache"], s["options"], s["threads"]
        )
        self.concurrency = self.batch.workers(s["concurrency"])
        self.id_column: str = s["id_column"]
        self.text_column: str = s["text_column"]

    def __call__(self, table: pyarrow.Table) -> pyarrow.Table:
        import pyarrow

        ids = table.column(self.id_column).to_pylist()
        texts = table.column(self.text_column).to_pylist()
        rows = [
            row_from_line(outcome_line(o, self.batch.target), o.seconds)
            for o in run_threads(
                self._documents(ids, texts), self.batch.run, self.concurrency, "input"
            )
        ]
        return pyarrow.Table.from_pylist(rows, schema=row_schema())

    def _documents(self, ids: list[Any], texts: list[Any]) -> Iterator[Document | Outcome[Any]]:
        for ident, text in zip(ids, texts, strict=True):
            if ident is None:
                yield Outcome.failed("", InputError.__name__, f"a row has no {self.id_column!r}")
            elif not isinstance(text, str):
                found = type(text).__name__
                message = f"column {self.text_column!r} is not text ({found})"
                yield Outcome.failed(str(ident), InputError.__name__, message)
            else:
                yield Document(str(ident), text)

    def __del__(self) -> None:
        batch = getattr(self, "batch", None)
        if batch is not None:
            batch.close()


def extract_dataset(
    ds: ray.data.Dataset,
    target: Any,
    *,
    model: str | None = None,
    backend: str | Callable[[], Any] | None = None,
    workers: int | None = None,
    threads: int = 1,
    concurrency: int | None = None,
    batch_size: int = 4,
    cache: str | None = None,
    id_column: str = "id",
    text_column: str = "text",
    **options: Any,
) -> ray.data.Dataset:
    """``target`` extracted from every row of ``ds``; returns a lazy dataset of
    ``ROW_COLUMNS`` rows (one per input row, value or error).

    ``target``: a Pydantic model, type or JSON Schema, or a ``package.module:Name`` spec
    (loaded here, then sent to the actors). ``model``: a GGUF path,
    ``openai:MODEL``/``anthropic:MODEL``, or None for the embedded model; ``backend``
    instead: a zero-argument factory (or its ``package.module:name`` spec) returning a
    ``extract.backends.Backend``. Each of the
    ``workers`` actors (default: the cluster's CPUs over ``threads``) reserves
    ``threads`` CPUs and runs its local model on as many threads. ``cache`` is a
    result-cache file path on each node (None: no cache). ``options`` are
    ``Extractor.run`` options (``max_retries``, ``examples``...).
    """
    import ray
    import ray.data

    from extract.core._options import compile_target, parse_options

    if threads < 1 or (workers is not None and workers < 1) or batch_size < 1:
        raise UsageError("extract_dataset: workers, threads and batch_size must be at least 1")
    columns = ds.columns() or []
    missing = [c for c in (id_column, text_column) if c not in columns]
    if missing:
        raise UsageError(
            f"extract_dataset: the dataset has no column {', '.join(map(repr, missing))} "
            f"(its columns: {', '.join(columns) or 'none'}); name them with "
            "id_column=/text_column="
        )
    # Bad specs, options or an unsupported schema fail here, not in every actor.
    try:
        target = load_target(target) if isinstance(target, str) else target
        backend = load_target(backend) if isinstance(backend, str) else backend
    except UsageError as exc:
        raise UsageError(f"extract_dataset: {exc}") from None
    parse_options(target, options)
    compile_target(target)
    if isinstance(model, str) and model.endswith(".gguf") and not os.path.isfile(model):
        # An actor that cannot load its model would be restarted by Ray, not reported.
        raise ModelLoadError(
            f"no GGUF model file at {model!r} here; every node needs it at the same path"
        )
    _ship_project_modules()
    largest = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"]), default=0)  # type: ignore[no-untyped-call]
    if threads > largest:
        raise UsageError(
            f"extract_dataset: threads={threads} but the largest node has {largest:g} CPUs; "
            "no actor could be placed"
        )
    if workers is None:
        workers = default_workers(threads)
    settings = {
        "target": target,
        "model": model,
        "backend": backend,
        "cache": cache,
        "options": options,
        "threads": threads,
        "concurrency": concurrency,
        "id_column": id_column,
        "text_column": text_column,
    }
    return ds.map_batches(
        _ExtractActor,
        fn_constructor_kwargs={"settings": settings},
        batch_format="pyarrow",
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=threads,
    )


def default_workers(threads: int) -> int:
    """One actor per ``threads`` CPUs of the cluster."""
    import ray

    cpus = int(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call]
    return max(1, cpus // threads)


# Installed on every node (the actors run this code): always imported by name.
_OURS = {"extract", "schemas", "backends"}


def _ship_project_modules() -> None:
    """The project's own modules (files under the current directory, outside any
    virtualenv's site-packages: a ``models.py`` and what it imports) travel to the
    actors by value, so a cluster needs this package installed, not the project."""
    import sys

    from ray import cloudpickle

    here = os.path.join(os.getcwd(), "")
    # The interpreter's own trees (stdlib, a virtualenv), even when under the cwd.
    python = tuple(os.path.join(p, "") for p in {sys.prefix, sys.base_prefix, sys.exec_prefix})
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file:
            continue  # built in
        path = os.path.abspath(file)
        if (
            name == "__main__"
            or name.partition(".")[0] in _OURS
            or not path.startswith(here)
            or path.startswith(python)
            or {"site-packages", "dist-packages"} & set(path.split(os.sep))
        ):
            continue
        cloudpickle.register_pickle_by_value(module)  # type: ignore[no-untyped-call]


def run_lines(
    pending: Iterator[Document | Outcome[Any]],
    target: Any,
    *,
    address: str | None = None,
    order: str = "completed",
    **settings: Any,
) -> Iterator[dict[str, Any]]:
    """``extract run --engine ray``: the documents through ``extract_dataset`` on a Ray
    cluster (``address``, ``$RAY_ADDRESS``, or a local instance started here), as the
    same JSON lines the local engine writes. Inputs that could not be read come first.

    The driver reads the inputs and writes the output, so resuming and progress work as
    with the local engine; the pending documents are held in the driver's memory and
    Ray's object store while the run lasts."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise UsageError(
            f"--engine ray needs Ray ({exc}): pip install 'structured-extract[ray]'"
        ) from exc

    rows: list[dict[str, str]] = []
    for item in pending:
        if isinstance(item, Outcome):
            yield {"id": item.id, "error": item.error}
        else:
            rows.append({"id": item.id, "text": item.text})
    if not rows:
        return
    started_here = not ray.is_initialized()
    if started_here:
        start_ray(address)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the CLI shows its own
    context.execution_options.preserve_order = order == "input"
    try:
        # Small runs: a block per document, so every actor gets work; large runs: blocks
        # of several hundred. A batch is one document (a local model takes one at a
        # time, and progress moves by one), or --concurrency documents for a hosted one.
        blocks = min(len(rows), 2000)
        threads = settings.get("threads", 1)
        workers = min(settings.pop("workers", None) or default_workers(threads), blocks)
        batch_size = max(1, min(settings.get("concurrency") or 1, len(rows) // workers))
        dataset = ray.data.from_items(rows, override_num_blocks=blocks)
        result = extract_dataset(
            dataset, target, workers=workers, batch_size=batch_size, **settings
        )
        for row in result.iter_rows():
            yield line_from_row(row)
    except ray.exceptions.ActorDiedError as exc:  # Ray gives up on actors that cannot start
        reason = str(exc).strip().splitlines()[-1]
        raise ModelLoadError(f"a Ray actor died (or could not start): {reason}") from None
    finally:
        if started_here:
            ray.shutdown()


def start_ray(address: str | None = None) -> None:
    """Connects to ``address`` (or ``$RAY_ADDRESS``, or an instance ``ray start`` left
    running on this machine), or else starts Ray here with every CPU; quiet, since the
    CLI reports progress itself."""
    import logging

    import ray

    ray.init(
        address=address,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
    )
    logging.getLogger("ray.data").setLevel(logging.ERROR)
