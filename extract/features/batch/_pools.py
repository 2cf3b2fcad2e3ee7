"""Documents through a worker on threads, tasks or any ``Future`` pool, at most a window
ahead, yielded in input order or as completed. Failed inputs (outcomes among the
documents) pass through in their place."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from ._engine import Document, Order, Outcome


def run_threads(
    items: Iterable[Document | Outcome[Any]],
    work: Callable[[Document], Outcome[Any]],
    concurrency: int,
    order: Order,
) -> Iterator[Outcome[Any]]:
    """``work`` over the documents on ``concurrency`` threads, yielded in input order or
    as completed. Failed inputs pass through."""
    if concurrency <= 1:
        for item in items:
            yield item if isinstance(item, Outcome) else work(item)
        return
    with ThreadPoolExecutor(concurrency, thread_name_prefix="extract") as pool:
        yield from in_pool(
            items, lambda d: pool.submit(work, d), lambda o: o, 2 * concurrency, order
        )


R = TypeVar("R")


def in_pool(
    items: Iterable[Document | Outcome[Any]],
    submit: Callable[[Document], Future[R]],
    passed: Callable[[Outcome[Any]], R],
    window: int,
    order: Order,
) -> Iterator[R]:
    """Documents submitted to a pool, at most ``window`` ahead; results yielded in input
    order or as completed. Outcomes (failed inputs) pass through as ``passed(outcome)``.
    Closing the iterator cancels what has not started."""
    queue: collections.deque[Future[R]] = collections.deque()
    running: set[Future[R]] = set()
    try:
        for item in items:
            future: Future[R]
            if isinstance(item, Outcome):
                future = Future()
                future.set_result(passed(item))
            else:
                future = submit(item)
            if order == "input":
                queue.append(future)
                while len(queue) >= window or (queue and queue[0].done()):
                    yield queue.popleft().result()
            else:
                running.add(future)
                if len(running) >= window:
                    done, pending = wait(running, return_when=FIRST_COMPLETED)
                    running = set(pending)
                    yield from (f.result() for f in done)
        while queue:
            yield queue.popleft().result()
        while running:
            done, pending = wait(running, return_when=FIRST_COMPLETED)
            running = set(pending)
            yield from (f.result() for f in done)
    finally:
        for future in (*queue, *running):
            future.cancel()


async def run_tasks(
    items: Iterable[Document | Outcome[Any]],
    work: Callable[[Document], Awaitable[Outcome[Any]]],
    concurrency: int,
    order: Order,
) -> AsyncIterator[Outcome[Any]]:
    """The async twin of ``run_threads``: ``concurrency`` coroutines at once."""
    window = max(1, concurrency)
    queue: collections.deque[asyncio.Future[Outcome[Any]]] = collections.deque()
    running: set[asyncio.Future[Outcome[Any]]] = set()
    loop = asyncio.get_running_loop()
    try:
        for item in items:
            future: asyncio.Future[Outcome[Any]]
            if isinstance(item, Outcome):
                future = loop.create_future()
                future.set_result(item)
            else:
                future = asyncio.ensure_future(work(item))
            if order == "input":
                queue.append(future)
                while len(queue) >= window or (queue and queue[0].done()):
                    yield await queue.popleft()
            else:
                running.add(future)
                if len(running) >= window:
                    done, running = await asyncio.wait(running, return_when=FIRST_COMPLETED)
                    for f in done:
                        yield f.result()
        while queue:
            yield await queue.popleft()
        while running:
            done, running = await asyncio.wait(running, return_when=FIRST_COMPLETED)
            for f in done:
                yield f.result()
    finally:
        for f in (*queue, *running):
            f.cancel()
