"""Plain greedy decoding in a backend's own context: the floor the benchmarks compare
ours with (argmax of the logits, no mask, one forward pass per token)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from extract.backends._sequences import Feed
from extract.backends.llamacpp import LlamaCppBackend


def greedy(backend: LlamaCppBackend, prompt: Sequence[int], count: int) -> tuple[float, float]:
    """Evaluate ``prompt`` on sequence 0 (after the prefix it already shares), then
    ``count`` tokens argmax after argmax; the seconds of each part."""
    seqs = backend.sequences
    started = time.perf_counter()
    held = seqs.place(0, prompt)
    logits = seqs.decode([Feed(0, held, prompt[held:])], [0])[0]
    evaluated = time.perf_counter()
    for i in range(count):
        token = int(np.argmax(logits))
        logits = seqs.decode([Feed(0, len(prompt) + i, [token])], [0])[0]
    return evaluated - started, time.perf_counter() - evaluated
