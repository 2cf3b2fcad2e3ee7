"""Run a grammar without a model: does it accept a text, byte for byte?

A vocabulary of the 256 single bytes (plus an end token) spells every text, so this
answers what the grammar allows independently of any model's tokenizer.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import llguidance

END_TOKEN = 256


class _ByteVocabulary:
    """The minimal tokenizer llguidance's ``TokenizerWrapper`` expects."""

    eos_token_id = END_TOKEN
    bos_token_id = None
    tokens: Sequence[bytes] = [bytes([i]) for i in range(256)] + [b"<|end|>"]
    special_token_ids: Sequence[int] = [END_TOKEN]

    def __call__(self, data: bytes) -> list[int]:
        return list(data)


@functools.cache
def byte_tokenizer() -> llguidance.LLTokenizer:
    """An llguidance tokenizer whose tokens are single bytes; token 256 ends the text."""
    return llguidance.LLTokenizer(llguidance.TokenizerWrapper(_ByteVocabulary()))


class GrammarChecker:
    """Accepts or rejects whole texts against one grammar (compiled once)."""

    def __init__(self, grammar: str) -> None:
        self._matcher = llguidance.LLMatcher(byte_tokenizer(), grammar, log_level=0)
        if self._matcher.is_error():
            raise ValueError(f"grammar rejected by the engine: {self._matcher.get_error()}")

    def fresh(self) -> llguidance.LLMatcher:
        """A matcher at the start of the grammar (a copy: one in error cannot be reset)."""
        return self._matcher.deep_copy()

    def accepts(self, text: str) -> bool:
        matcher = self.fresh()
        return bool(matcher.consume_tokens(list(text.encode("utf-8")))) and bool(
            matcher.is_accepting()
        )
