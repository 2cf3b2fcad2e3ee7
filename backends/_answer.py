"""One answer under a grammar, token by token: the mask, what the grammar forces, loops.

An ``Answer`` does not call the model. It is given the logits for its next position and
says which tokens to evaluate next (and from which position, when it rewinds a loop), so
that one forward pass can serve many answers at once (see ``_sequences``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import llama_cpp
import numpy as np
from numpy.typing import NDArray

from ._base import FinishReason, Request
from ._loops import (
    CLOSES,
    LOOP_COPIES,
    MAX_LOOP_EXITS,
    NEAR_COPIES,
    NEAR_KEPT,
    in_list_string,
    near_repeating,
    open_value,
    repeating,
)

# A sampled token's probability under the grammar's mask and the best other one's;
# None for a token the grammar left no choice about.
Evidence = tuple[float, float] | None


def evidence(masked: NDArray[np.float32], peak: float, token: int) -> Evidence:
    """The model's own distribution (temperature 1) over the tokens the grammar allows:
    the chosen token's probability and the best other's. One exp over the vocabulary,
    against a forward pass per token."""
    weights = np.exp(masked - peak)
    total = float(weights.sum())
    chosen = float(weights[token])
    weights[token] = 0.0
    other = float(weights.max())
    if other == 0.0:
        return None  # the only token allowed: the grammar chose, not the model
    return chosen / total, other / total


class Vocabulary:
    """What a decoder needs to know about a model's tokens, shared by its answers."""

    def __init__(self, llm: llama_cpp.Llama, tokenizer: Any, *, fast_forward: bool) -> None:
        self.llm = llm
        self.tokenizer = tokenizer
        self.n_vocab = int(llm.n_vocab())
        self.eos = int(llm.token_eos())
        self.fast_forward = fast_forward
        self._mask = np.zeros((self.n_vocab + 31) // 32, dtype=np.int32)
        self._token_sets: dict[str, NDArray[np.int64]] = {}  # see tokens_where
        self._digits: NDArray[np.bool_] | None = None  # see digits

    def allowed(self, matcher: Any) -> NDArray[np.uint8]:
        mask = self._mask
        matcher.unsafe_compute_mask_ptr(mask.ctypes.data, mask.nbytes)
        return np.unpackbits(mask.view(np.uint8), bitorder="little")[: self.n_vocab]

    def next_token(
        self,
        matcher: Any,
        logits: NDArray[np.float32],
        temperature: float,
        rng: np.random.Generator,
        banned: Any,
    ) -> tuple[int, Evidence]:
        """The next token, and the evidence it carries (see ``evidence``)."""
        allowed = self.allowed(matcher)
        if banned is not None:
            kept = allowed.copy()
            kept[banned] = 0  # leave a loop: anything the grammar allows but these
            if kept.any():
                allowed = kept
        masked = np.where(allowed.astype(bool), logits, -np.inf)
        peak = masked.max()
        if temperature <= 0:
            token = int(np.argmax(masked))
        else:
            probs = np.exp((masked - peak) / temperature)
            probs /= probs.sum()
            token = int(rng.choice(self.n_vocab, p=probs))
        return token, evidence(masked, peak, token)

    def only_eos_left(self, matcher: Any) -> bool:
        """The value is complete and nothing may follow: no forward pass to sample EOS."""
        if not matcher.is_accepting():
            return False
        mask = self._mask
        matcher.unsafe_compute_mask_ptr(mask.ctypes.data, mask.nbytes)
        word, bit = divmod(self.eos, 32)
        words = mask.view(np.uint32)
        return bool(words[word] == (1 << bit) and np.count_nonzero(words) == 1)

    def forced(self, matcher: Any, room: int, previous: int | None) -> list[int]:
        """The tokens the grammar forces next, consumed by ``matcher``; often none.

        llguidance's own forced tokens are not how the model would spell the bytes,
        which lengthens the output and steers it off course; the model's tokenizer
        spells them as in training. Only where that spelling keeps the boundary after
        the ``previous`` (sampled) token, and never the last token, which may merge
        with the bytes that follow.
        """
        if not self.fast_forward or room <= 1:
            return []
        forced = matcher.compute_ff_bytes()
        if len(forced) < 2:
            return []
        head = b"" if previous is None else self.tokenizer.decode_bytes([previous])
        tokens = self.llm.tokenize(head + forced, add_bos=False, special=False)
        if previous is not None:
            if not tokens or tokens[0] != previous:
                return []  # the canonical spelling merges the sampled token with these
            tokens = tokens[1:]
        tokens = tokens[:-1][: room - 1]
        # A tokenizer that adds a leading space (SentencePiece) spells other bytes.
        if not tokens or not forced.startswith(self.tokenizer.decode_bytes(tokens)):
            return []
        tokens = tokens[: matcher.validate_tokens(tokens)]
        if tokens and not matcher.consume_tokens(tokens):
            raise RuntimeError(f"engine refused forced tokens: {matcher.get_error()}")
        return list(tokens)

    def loop_exit(
        self, out: list[int], span: int, copies: int = LOOP_COPIES, kept: int = 1
    ) -> tuple[int, Any, bool] | None:
        """Where to cut a loop, what the next token may not be there, and whether that
        ends a list; None if the loop has no way out (the attempt then stops).

        A list whose items repeat is cut where the first copy ended an item and the
        model went on to the next (a token ending in ``,`` right after ``}`` or ``]``);
        the next token must then close brackets only. A string or a number that repeats
        (a phrase again and again, ``2.000000...``) is cut after the first copy and must
        then close. ``copies`` of the span were written; the first ``kept`` stay.
        """
        return self.cut(out, len(out) - (copies - kept) * span, span)

    def cut(self, out: list[int], first_end: int, span: int) -> tuple[int, Any, bool] | None:
        """The way out of a loop whose kept part ends at ``first_end``: see ``loop_exit``."""
        decode = self.tokenizer.decode_bytes
        for at in range(first_end - 1, first_end - span - 1, -1):
            piece = decode([out[at]]).strip()
            if piece[:1] == b'"' and b"," in piece and not piece.strip(b'", '):
                # '","' between string items: cut before it, the item's quote closes
                if in_list_string(decode(out[:at])):
                    return at, self.all_but("string list"), True
                continue
            if not piece.endswith(b","):
                continue
            before = (decode(out[:at]) + piece[:-1]).rstrip()
            if before.endswith((b"}", b"]")):
                # '"},' also closes the item's last string: the way out must too ('"}')
                closing = "string list" if piece[:1] == b'"' else "list"
                return at, self.all_but(closing), True
        state = open_value(self.tokenizer.decode_bytes(out[:first_end]))
        if state is None:
            return None
        return first_end, self.all_but(state), False

    def all_but(self, closing: str) -> NDArray[np.int64]:
        """Every token except those that close what is open (see ``CLOSES``): the ones
        to ban at a loop's way out."""
        closes = CLOSES[closing]
        return self.tokens_where(f"all but {closing}", lambda piece: not closes(piece))

    def commas(self) -> NDArray[np.int64]:
        """Every token whose text starts with a comma."""
        return self.tokens_where("comma", lambda piece: piece.lstrip().startswith(b","))

    def digits(self) -> NDArray[np.bool_]:
        """By token id: whether the token is digits only (a space before them aside)."""
        if self._digits is None:
            self._digits = np.zeros(self.n_vocab, dtype=bool)
            self._digits[self.tokens_where("digits", lambda p: p.strip().isdigit())] = True
        return self._digits

    def is_closer(self, token: int) -> bool:
        """Whether the token closes a list item and nothing else (``}``, ``"}``): a
        comma after it would start the next item."""
        return self.tokenizer.decode_bytes([token]).strip() in (b"}", b"]", b'"}')

    def tokens_where(self, name: str, test: Callable[[bytes], bool]) -> NDArray[np.int64]:
        """The ids of the tokens whose text passes ``test``; found once per model."""
        if name not in self._token_sets:
            decode = self.tokenizer.decode_bytes
            self._token_sets[name] = np.array(
                [t for t in range(self.n_vocab) if test(decode([t]))], dtype=np.int64
            )
        return self._token_sets[name]


class Answer:
    """The decoding of one answer after a prompt of ``prompt`` tokens.

    Sample under the mask; what the grammar forces goes in without sampling. Forced
    tokens are evaluated in one batch with the token sampled before them, so a forced
    key costs part of one forward pass instead of one pass per token. A list whose
    items start repeating verbatim is ended where the repeats began.
    """

    def __init__(
        self,
        vocabulary: Vocabulary,
        matcher: Any,
        request: Request,
        prompt: list[int],
        *,
        loop_guard: bool,
    ) -> None:
        self.vocabulary = vocabulary
        self.matcher = matcher
        self.request = request
        self.prompt = prompt
        self.loop_guard = loop_guard
        self.rng = np.random.default_rng(request.seed)
        self.out: list[int] = []
        self.evidence: list[Evidence] = []  # one per token of ``out``
        self.finish: FinishReason | None = None  # set once the answer is complete
        self.rewound_to: int | None = None  # the shortest the output was cut to, if it was
        self._banned: Any = None  # token ids the next step may not take (leaving a loop)
        self._list_exit = False  # banned holds a list separator such as "},"
        self._exits = 0

    def begin(self) -> list[int]:
        """The tokens forced before anything is sampled: evaluated after the prompt."""
        forced = self.vocabulary.forced(self.matcher, self.request.max_tokens, None)
        self.out.extend(forced)
        self.evidence.extend([None] * len(forced))
        return forced

    def advance(self, logits: NDArray[np.float32]) -> tuple[int, list[int]] | None:
        """Given the logits for the next position: the position and tokens to evaluate
        next, or None when the answer is complete (``finish`` says why)."""
        words, matcher, request = self.vocabulary, self.matcher, self.request
        out = self.out
        if matcher.is_stopped():
            self.finish = "stop"
            return None
        if len(out) >= request.max_tokens:
            self.finish = "length"
            return None
        token, said = words.next_token(matcher, logits, request.temperature, self.rng, self._banned)
        # "}," banned and "}" taken: the "," must not follow on its own either.
        closing = self._list_exit and words.is_closer(token)
        self._banned = words.commas() if closing else None
        self._list_exit = False
        if not matcher.consume_token(token):
            raise RuntimeError(f"engine refused token {token}: {matcher.get_error()}")
        if token == words.eos:
            self.finish = "stop"
            return None
        out.append(token)
        self.evidence.append(said)
        if matcher.is_stopped():
            self.finish = "stop"
            return None
        span = repeating(out) if self.loop_guard else 0
        if span:
            way_out = words.loop_exit(out, span) if self._exits < MAX_LOOP_EXITS else None
            if way_out is None:
                self.finish = "repetition"
                return None
            return self._leave(way_out)
        near = near_repeating(out, words.digits()) if self.loop_guard else 0
        if near and self._exits < MAX_LOOP_EXITS:
            way_out = words.loop_exit(out, near, NEAR_COPIES, NEAR_KEPT)
            if way_out is not None and way_out[2]:  # lists only: a string may count up
                return self._leave(way_out)
        at = len(self.prompt) + len(out) - 1
        forced = words.forced(matcher, request.max_tokens - len(out), token)
        out.extend(forced)
        self.evidence.extend([None] * len(forced))
        if matcher.is_stopped() or words.only_eos_left(matcher):
            self.finish = "stop"
            return None
        return at, [token, *forced]

    def _leave(self, way_out: tuple[int, Any, bool]) -> tuple[int, list[int]]:
        """Take a loop's way out (see ``Vocabulary.loop_exit``): rewind to the cut and
        ban, for the next token, what would go on with the loop."""
        self._exits += 1
        exit_at, self._banned, self._list_exit = way_out
        return self._rewind(exit_at)

    def _rewind(self, at: int) -> tuple[int, list[int]]:
        """Drops ``out[at:]`` from the output and the matcher; the last kept token is
        evaluated again (the cache past it is dropped) for the logits at ``at``."""
        if not self.matcher.rollback(len(self.out) - at):
            raise RuntimeError(f"engine could not roll back: {self.matcher.get_error()}")
        del self.out[at:]
        del self.evidence[at:]
        self.rewound_to = at if self.rewound_to is None else min(self.rewound_to, at)
        last = self.out[-1] if self.out else self.prompt[-1]
        return len(self.prompt) + len(self.out) - 1, [last]
