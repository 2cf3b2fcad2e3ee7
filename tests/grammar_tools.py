"""Drive an llguidance grammar without a model: accept a text, or walk it at random."""

from __future__ import annotations

import random
import unicodedata
from typing import Any

import llguidance
import numpy as np


def representable(tokenizer: Any, text: str) -> bool:
    """Whether the model's vocabulary can spell ``text`` at all.

    The embedded model's GGUF vocabulary lacks a few byte tokens (e.g. the lead byte
    of U+40000), so such text can never be model output; property tests skip it.
    """
    return bool(tokenizer.decode_bytes(tokenizer.tokenize_str(text)) == text.encode())


def accepts(tokenizer: Any, grammar: str, text: str) -> bool:
    matcher = llguidance.LLMatcher(tokenizer, grammar, log_level=0)
    assert not matcher.is_error(), matcher.get_error()
    assert representable(tokenizer, text), f"the vocabulary cannot spell {text!r}"
    tokens = tokenizer.tokenize_str(text)
    return bool(matcher.consume_tokens(tokens)) and matcher.is_accepting()


def random_walk(tokenizer: Any, grammar: str, seed: int, max_tokens: int = 400) -> str | None:
    """A string the grammar allows, chosen token by token at random; None if too long.

    The end-of-sequence token is taken whenever the grammar allows it, so walks end
    as soon as they may.
    """
    rng = random.Random(seed)
    matcher = llguidance.LLMatcher(tokenizer, grammar, log_level=0)
    assert not matcher.is_error(), matcher.get_error()
    eos = tokenizer.eos_token
    n_vocab = tokenizer.vocab_size
    out: list[int] = []
    for _ in range(max_tokens):
        if matcher.is_stopped():
            break
        mask = np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8)
        allowed = np.flatnonzero(np.unpackbits(mask, bitorder="little")[:n_vocab])
        assert len(allowed) > 0, "the grammar allows no token: dead end"
        token = eos if eos in allowed else int(allowed[rng.randrange(len(allowed))])
        assert matcher.consume_token(token), matcher.get_error()
        if token == eos:
            break
        out.append(token)
    else:
        return None
    return tokenizer.decode_bytes(out).decode("utf-8", errors="strict")


def assigned_in_python(text: str) -> bool:
    """Whether this Python's Unicode tables know every character of ``text``.

    The engine's tables are newer (a Kawi digit such as U+11F56 is ``\\d`` there and
    unassigned in Python 3.11), so a grammar may allow a character the validator then
    rejects; the retry loop catches that, and property tests leave such text out.
    """
    return all(unicodedata.category(ch) != "Cn" for ch in text)
