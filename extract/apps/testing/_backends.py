"""Backends for tests: no model, no network, deterministic.

``FakeBackend`` writes what the compiled grammar allows, choosing bytes at random
(seeded); ``ScriptedBackend`` replays outputs you give it and records the requests.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from typing import Any

from extract.backends import Capabilities, Completion, Request
from extract.schemas import byte_tokenizer

_END = 256  # the byte tokenizer's end token
_CLOSERS = frozenset(b'"}]')
_PRINTABLE = frozenset(range(0x20, 0x7F))


class FakeBackend:
    """Grammar-valid output without a model: a seeded random walk of the grammar.

    Each step takes one byte the grammar allows: the end of the output as soon as it
    may end, otherwise a closing quote or bracket with probability ``close_bias``
    (so values stay short), otherwise a printable ASCII byte if one is allowed.
    The same (seed, request) always gives the same output. Tokens are bytes here.
    """

    def __init__(self, seed: int = 0, *, close_bias: float = 0.3) -> None:
        self.seed = seed
        self.close_bias = close_bias
        self.calls = 0
        self._capabilities = Capabilities(grammar=True)

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def name(self) -> str:
        return f"fake:seed={self.seed}"

    def complete(self, request: Request) -> Completion:
        self.calls += 1
        prompt = "\n".join(m.content for m in request.messages)
        digest = hashlib.sha256(f"{self.seed}|{request.seed}|{prompt}".encode()).digest()
        rng = random.Random(digest)
        matcher = request.schema.matcher(byte_tokenizer(), request.grounding)
        out = bytearray()
        finish: Any = "length"
        while len(out) < request.max_tokens:
            allowed = _allowed(matcher.compute_bitmask())
            if _END in allowed or not allowed:
                finish = "stop"
                break
            closers = [b for b in allowed if b in _CLOSERS]
            printable = [b for b in allowed if b in _PRINTABLE]
            if closers and rng.random() < self.close_bias:
                byte = rng.choice(closers)
            else:
                byte = rng.choice(printable or allowed)
            if not matcher.consume_token(byte):  # pragma: no cover - the mask allowed it
                raise RuntimeError(f"grammar refused an allowed byte: {matcher.get_error()}")
            out.append(byte)
        return Completion(
            text=out.decode("utf-8", errors="replace"),
            finish_reason=finish,
            prompt_tokens=len(prompt.encode()),
            completion_tokens=len(out),
        )


def _allowed(mask: bytes) -> list[int]:
    return [i for i in range(_END + 1) if mask[i >> 3] >> (i & 7) & 1]


class ScriptExhaustedError(AssertionError):
    """A ``ScriptedBackend`` was called more times than it has outputs."""


class ScriptedBackend:
    """Replays the given outputs in order, one per call, and records every request.

    Outputs are free text (``grammar=False``), so the extraction loop repairs and
    validates them as it would a hosted model's answer. An output may also be a
    ``extract.backends.Completion`` to script truncation or token counts.
    """

    def __init__(self, outputs: Iterable[str | Completion]) -> None:
        self._outputs = list(outputs)
        self.requests: list[Request] = []
        self._capabilities = Capabilities(grammar=False)

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def name(self) -> str:
        return "scripted"

    @property
    def remaining(self) -> int:
        return len(self._outputs) - len(self.requests)

    def complete(self, request: Request) -> Completion:
        if self.remaining <= 0:
            raise ScriptExhaustedError(
                f"ScriptedBackend was called {len(self.requests) + 1} times "
                f"but has only {len(self._outputs)} output(s)"
            )
        output = self._outputs[len(self.requests)]
        self.requests.append(request)
        if isinstance(output, Completion):
            return output
        return Completion(output, "stop", prompt_tokens=0, completion_tokens=len(output.split()))
