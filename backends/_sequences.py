"""Several token sequences in one llama context, evaluated together.

llama-cpp-python's ``Llama`` drives one sequence; continuous batching needs the
context's own multi-sequence API (``llama_decode`` on a batch whose tokens carry
sequence ids), so this module holds that context. The KV cache is unified: a prefix
copied from one sequence to another is shared by both (``llama_memory_seq_cp`` tags
the same cells), so a system prompt is evaluated once whatever the number of
documents in flight. Every sequence keeps what it holds after its answer; the next
prompt placed on it (or copied from it) reuses the longest common prefix.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import llama_cpp
import numpy as np
from numpy.typing import NDArray


class ContextFull(RuntimeError):
    """The KV cache has no room for the batch even with every idle sequence dropped."""


@dataclass(frozen=True)
class Feed:
    """Tokens to evaluate on ``seq`` from position ``at``; whatever the sequence held
    from ``at`` on is dropped first (a rewind, or a new prompt after a shared prefix)."""

    seq: int
    at: int
    tokens: Sequence[int]


class Sequences:
    """``count`` sequences in one context of ``n_ctx`` cells shared by all of them."""

    def __init__(
        self,
        model: llama_cpp.llama_model_p,
        *,
        count: int,
        n_ctx: int,
        n_threads: int,
        n_threads_batch: int,
        n_batch: int = 512,
        like: llama_cpp.llama_context_params | None = None,
    ) -> None:
        if count < 1:
            raise ValueError("at least one sequence is needed")
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = params.n_ubatch = n_batch
        params.n_seq_max = count
        params.kv_unified = True  # one pool of cells: shared prefixes are stored once
        params.n_threads = n_threads
        params.n_threads_batch = n_threads_batch
        params.no_perf = True
        if like is not None:  # the Llama's own settings: one sequence decodes as before
            params.flash_attn_type = like.flash_attn_type
            params.type_k, params.type_v = like.type_k, like.type_v
        if count > 1:
            # Flash attention skips the cells of other sequences (masked out) instead of
            # multiplying through them: with a unified cache that is most of the attention.
            params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        ctx = llama_cpp.llama_init_from_model(model, params)
        if not ctx:
            raise RuntimeError(f"llama.cpp could not create a context of {n_ctx} cells")
        self.ctx = ctx
        self._memory = llama_cpp.llama_get_memory(ctx)
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self._finalizer = weakref.finalize(self, _free, ctx, self._batch)
        self.count = count
        self.n_ctx = n_ctx
        self.n_batch = n_batch
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(model))
        self.held: list[list[int]] = [[] for _ in range(count)]  # each sequence's tokens
        self.passes = 0  # llama_decode calls: what a test or benchmark counts

    def close(self) -> None:
        self._finalizer()

    def place(self, seq: int, prompt: Sequence[int]) -> int:
        """Make ``seq`` hold the longest prefix of ``prompt`` that any sequence holds
        (copied, not evaluated) and return its length; at least the last prompt token
        is left to evaluate, for fresh logits."""
        limit = len(prompt) - 1
        best, common = seq, common_prefix(self.held[seq], prompt, limit)
        for other in range(self.count):
            if other != seq:
                shared = common_prefix(self.held[other], prompt, limit)
                if shared > common:
                    best, common = other, shared
        if best == seq:
            self._drop(seq, common)
        else:
            self._drop(seq, 0)
            # Whole sequences only: a cache split per sequence copies nothing less.
            llama_cpp.llama_memory_seq_cp(self._memory, best, seq, -1, -1)
            self.held[seq] = list(self.held[best])
            self._drop(seq, common)
        return common

    def shared_prefix(self, prompt: Sequence[int]) -> int:
        """The longest prefix of ``prompt`` some sequence holds (copied, not evaluated)."""
        limit = len(prompt) - 1
        return max(common_prefix(held, prompt, limit) for held in self.held)

    def best_idle(self, prompt: Sequence[int], busy: Sequence[int]) -> int:
        """The idle sequence whose tokens share the longest prefix with ``prompt``."""
        idle = [s for s in range(self.count) if s not in busy]
        if not idle:
            raise RuntimeError("every sequence is busy")
        return max(idle, key=lambda s: common_prefix(self.held[s], prompt, len(prompt)))

    def decode(self, feeds: Sequence[Feed], busy: Sequence[int]) -> dict[int, NDArray[np.float32]]:
        """Evaluate every feed (split into batches of ``n_batch`` tokens) and return the
        logits after each feed's last token, by sequence. When the cache is full, the
        idle sequences' tokens (kept only to be reused) are dropped and it is tried again.
        """
        for feed in feeds:
            self._drop(feed.seq, feed.at)
            self.held[feed.seq].extend(feed.tokens)
        flat = [
            (feed.seq, feed.at + i, token, i == len(feed.tokens) - 1)
            for feed in feeds
            for i, token in enumerate(feed.tokens)
        ]
        logits: dict[int, NDArray[np.float32]] = {}
        for start in range(0, len(flat), self.n_batch):
            chunk = flat[start : start + self.n_batch]
            outputs = self._decode_chunk(chunk, busy)
            for index, seq in outputs:
                ptr = llama_cpp.llama_get_logits_ith(self.ctx, index)
                logits[seq] = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()
        return logits

    def _decode_chunk(
        self, chunk: Sequence[tuple[int, int, int, bool]], busy: Sequence[int]
    ) -> list[tuple[int, int]]:
        batch = self._batch
        outputs: list[tuple[int, int]] = []
        for i, (seq, pos, token, wanted) in enumerate(chunk):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = wanted
            if wanted:
                outputs.append((i, seq))
        batch.n_tokens = len(chunk)
        self.passes += 1
        status = llama_cpp.llama_decode(self.ctx, batch)
        if status == 1:  # no room in the cache: drop what is only kept for reuse
            for seq in range(self.count):
                if seq not in busy:
                    self._drop(seq, 0)
            status = llama_cpp.llama_decode(self.ctx, batch)
            if status == 1:
                raise ContextFull(
                    f"the {self.n_ctx}-cell context cannot hold the documents in flight; "
                    "load the model with a larger n_ctx or fewer sequences"
                )
        if status != 0:
            raise RuntimeError(f"llama_decode failed with status {status}")
        return outputs

    def _drop(self, seq: int, at: int) -> None:
        if at < len(self.held[seq]):
            llama_cpp.llama_memory_seq_rm(self._memory, seq, at, -1)
            del self.held[seq][at:]


def common_prefix(held: Sequence[int], tokens: Sequence[int], limit: int) -> int:
    """How many leading tokens ``held`` and ``tokens`` share, at most ``limit``."""
    common = 0
    limit = min(limit, len(held), len(tokens))
    while common < limit and held[common] == tokens[common]:
        common += 1
    return common


def _free(ctx: llama_cpp.llama_context_p, batch: llama_cpp.llama_batch) -> None:
    llama_cpp.llama_batch_free(batch)
    llama_cpp.llama_free(ctx)
