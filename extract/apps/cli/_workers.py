"""``extract run --workers N``: worker processes, one model each, fed documents a window
ahead; each sends back the JSON line of its outcome."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from extract.apps._targets import batch_for
from extract.features.batch import Batch, Document, Order, Outcome, in_pool, outcome_line

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


def lines_in_processes(
    pending: Iterable[Document | Outcome[Any]],
    workers: int,
    order: Order,
    initargs: tuple[Any, ...],
) -> Iterator[dict[str, Any]]:
    """The documents through ``workers`` processes started with ``_start_worker(*initargs)``."""
    with ProcessPoolExecutor(workers, initializer=_start_worker, initargs=initargs) as pool:

        def submit(doc: Document) -> Future[dict[str, Any]]:
            return pool.submit(_work_in_worker, doc)

        yield from in_pool(
            pending, submit, lambda o: {"id": o.id, "error": o.error}, 2 * workers, order
        )
