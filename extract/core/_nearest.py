"""Nearest examples: the reviewed records most like the document, as its few shots.

``Nearest(pool, k)`` ranks the pool's texts by BM25 against the document (the
``bm25s`` library: sparse matrices over numpy and scipy, which the package already
needs, and maintained; BM25 rather than embeddings because it needs no model download
and ranks by the words that matter in short business documents: names, products,
field labels). The document itself, if it is in the pool, is never its own example.
Ties (no words in common) keep the pool's order, so the choice is deterministic.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable
from typing import Any

from pydantic_core import to_jsonable_python

from ._errors import UsageError

PREFIX = "nearest:"


class Nearest:
    """``examples=Nearest(pool, k=3)``: per document, the ``k`` most similar of
    ``pool``'s ``(text, value)`` pairs (reviewed records) as its examples."""

    def __init__(self, pool: Iterable[tuple[str, Any]], k: int = 3) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise UsageError(f"nearest examples: k must be an int >= 1, not {k!r}")
        pairs = list(pool)
        for item in pairs:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise UsageError("nearest examples: the pool holds (text, value) pairs")
        self.pool = pairs
        self.k = k
        self._index: Any = None
        self._lock = threading.Lock()
        # What the pool holds, for result caches: another pool is another key.
        content = json.dumps(to_jsonable_python(pairs, fallback=repr), sort_keys=True)
        self.digest = hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"Nearest({len(self.pool)} records {self.digest}, k={self.k})"

    def __getstate__(self) -> dict[str, Any]:  # to worker processes: no lock, no index
        return {"pool": self.pool, "k": self.k, "digest": self.digest}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.pool, self.k, self.digest = state["pool"], state["k"], state["digest"]
        self._index = None
        self._lock = threading.Lock()

    def pick(self, text: str) -> list[tuple[str, Any]]:
        """The ``k`` pool records nearest ``text``, nearest first (fewer if the pool,
        less ``text`` itself, is smaller)."""
        others = [i for i, (t, _) in enumerate(self.pool) if t != text]
        if len(others) <= 1:
            return [self.pool[i] for i in others]
        scores = self._scores(text)
        ranked = sorted(others, key=lambda i: (-scores[i], i))
        return [self.pool[i] for i in ranked[: self.k]]

    def _scores(self, text: str) -> list[float]:
        """BM25 of each pool text against ``text``; all 0 when they share no word
        (bm25s needs a query word and a pool with words: it raises on either empty)."""
        index = self._retriever()
        query = _words([text])[0]
        if index is None or not query:
            return [0.0] * len(self.pool)
        return [float(s) for s in index.get_scores(query)]

    def _retriever(self) -> Any:
        with self._lock:  # built once, on first use, by one thread
            if self._index is None:
                import bm25s

                words = _words([t for t, _ in self.pool])
                index = bm25s.BM25()
                if any(words):
                    index.index(words, show_progress=False)
                    self._index = index
                else:
                    self._index = False  # no words at all: nothing to rank by
            return self._index or None


def _words(texts: list[str]) -> list[list[str]]:
    import bm25s

    words: list[list[str]] = bm25s.tokenize(
        texts, stopwords="en", return_ids=False, show_progress=False
    )
    return words


def parse_nearest(spec: str) -> int:
    """``"nearest:K"`` -> K; ``UsageError`` for anything else."""
    count = spec[len(PREFIX) :] if spec.startswith(PREFIX) else ""
    if not count.isdigit() or int(count) < 1:
        raise UsageError(f'examples: "nearest:K" with K >= 1, not {spec!r}')
    return int(count)
