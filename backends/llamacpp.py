"""Local GGUF models: llama-cpp-python for the forward pass, llguidance for the mask.

Our own decode loop, because llama-cpp-python's grammar sampler takes GBNF only and
its JSON-schema converter both pads output with whitespace and can crash the process
on patterns such as ``\\d``. Per token we do: forward pass, mask, argmax. The KV cache
of the longest common prompt prefix is kept between calls, so a shared system prompt
(schema and instructions first, document last) is evaluated once.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _cpu
from ._base import (
    Capabilities,
    Completion,
    ContextWindowExceeded,
    FinishReason,
    Message,
    Request,
)

try:
    import llama_cpp
    import llguidance
    import llguidance.llamacpp
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the local backend needs llama-cpp-python and llguidance: "
        "pip install 'structured-extract[local]'"
    ) from exc


def refuse_unrunnable_library() -> None:
    """Raise ``_cpu.UnrunnableLibrary`` rather than let the first prompt kill the process."""
    found = _library_verdict()
    if not found.ok:
        raise _cpu.UnrunnableLibrary(found.reason)


@functools.cache
def _library_verdict() -> _cpu.Verdict:
    info = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            cpuinfo = handle.read()
    except OSError:
        cpuinfo = ""  # not Linux: flags unknown, the library is trusted as llama.cpp does
    return _cpu.check(info, cpuinfo)


class LlamaCppBackend:
    """A ``llama_cpp.Llama`` (or a GGUF path) with grammar-constrained decoding."""

    def __init__(
        self,
        model: str | os.PathLike[str] | llama_cpp.Llama,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        fast_forward: bool = True,
        loop_guard: bool = True,
    ) -> None:
        refuse_unrunnable_library()
        if isinstance(model, llama_cpp.Llama):
            self.llm = model
            self._path = str(getattr(model, "model_path", "llama_cpp.Llama"))
        else:
            path = os.fspath(model)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"no GGUF model file at {path!r}")
            with _quiet_stderr():
                # Prompt evaluation gets the same threads: its default, every CPU,
                # oversubscribes the machine when several models share it (--workers).
                self.llm = llama_cpp.Llama(
                    model_path=path,
                    n_ctx=n_ctx,
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    verbose=False,
                )
            self._path = path
        self.tokenizer = tokenizer_for(self.llm)
        self.n_vocab = int(self.llm.n_vocab())
        self.eos = int(self.llm.token_eos())
        self._formatter = _chat_formatter(self.llm)
        self._lock = threading.Lock()  # one llama context is not thread-safe
        self._mask = np.zeros((self.n_vocab + 31) // 32, dtype=np.int32)
        self.fast_forward = fast_forward
        self.loop_guard = loop_guard
        self._token_sets: dict[str, NDArray[np.int64]] = {}  # see _tokens_where
        self._capabilities = Capabilities(
            grammar=True,
            prefix_cache=True,
            context_window=int(self.llm.n_ctx()),
            max_concurrency=1,  # one llama context: more threads would only queue on its lock
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def name(self) -> str:
        return f"llama.cpp:{os.path.basename(self._path)}"

    def prompt_tokens(self, messages: tuple[Message, ...]) -> list[int]:
        chat: list[Any] = [{"role": m.role, "content": m.content} for m in messages]
        prompt = self._formatter(messages=chat).prompt
        return list(self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def complete(self, request: Request) -> Completion:
        started = time.perf_counter()
        tokens = self.prompt_tokens(request.messages)
        window = self._capabilities.context_window or 0
        if len(tokens) + request.max_tokens > window:
            raise ContextWindowExceeded(len(tokens), window, request.max_tokens)
        matcher = request.schema.matcher(self.tokenizer, request.grounding)
        rng = np.random.default_rng(request.seed)
        with self._lock:
            cached = self._eval_prompt(tokens)
            prompt_done = time.perf_counter()
            out, finish = self._decode(matcher, request, rng, len(tokens))
        ended = time.perf_counter()
        text = self.tokenizer.decode_bytes(out).decode("utf-8", errors="replace")
        return Completion(
            text=text,
            finish_reason=finish,
            prompt_tokens=len(tokens),
            completion_tokens=len(out),
            cached_prompt_tokens=cached,
            timings={
                "prompt_s": prompt_done - started,
                "decode_s": ended - prompt_done,
                "total_s": ended - started,
            },
        )

    def _eval_prompt(self, tokens: list[int]) -> int:
        """Evaluate only the part of the prompt the KV cache does not hold already."""
        held = self.llm.n_tokens
        common = 0
        limit = min(held, len(tokens) - 1)  # re-evaluate at least one token for fresh logits
        ids = self.llm.input_ids
        while common < limit and ids[common] == tokens[common]:
            common += 1
        self.llm.n_tokens = common  # eval() drops the KV entries past this point
        self.llm.eval(tokens[common:])
        return common

    def _decode(
        self, matcher: Any, request: Request, rng: np.random.Generator, prompt: int
    ) -> tuple[list[int], FinishReason]:
        """Sample under the mask; what the grammar forces goes in without sampling.

        Forced tokens are evaluated in one batch with the token sampled before them, so
        a forced key costs part of one forward pass instead of one pass per token. A
        list whose items start repeating verbatim is ended where the repeats began.
        """
        out: list[int] = []
        banned: Any = None  # token ids the next step may not take (leaving a loop)
        list_exit = False  # banned holds a list separator such as "},"
        exits = 0
        forced = self._forced(matcher, request.max_tokens, None)
        if forced:
            out.extend(forced)
            self.llm.eval(forced)
        while not matcher.is_stopped():
            if len(out) >= request.max_tokens:
                return out, "length"
            token = self._next_token(matcher, request.temperature, rng, banned)
            # "}," banned and "}" taken: the "," must not follow on its own either.
            banned = self._commas() if list_exit and self._is_closer(token) else None
            list_exit = False
            if not matcher.consume_token(token):
                raise RuntimeError(f"engine refused token {token}: {matcher.get_error()}")
            if token == self.eos:
                break
            out.append(token)
            if matcher.is_stopped():
                break
            span = repeating(out) if self.loop_guard else 0
            if span:
                way_out = self._loop_exit(out, span) if exits < MAX_LOOP_EXITS else None
                if way_out is None:
                    return out, "repetition"
                exits += 1
                exit_at, banned, list_exit = way_out
                self._rewind(matcher, out, exit_at, prompt)
                continue
            forced = self._forced(matcher, request.max_tokens - len(out), token)
            out.extend(forced)
            if matcher.is_stopped() or self._only_eos_left(matcher):
                break
            self.llm.eval([token, *forced])
        return out, "stop"

    def _loop_exit(self, out: list[int], span: int) -> tuple[int, Any, bool] | None:
        """Where to cut a loop, what the next token may not be there, and whether that
        ends a list; None if the loop has no way out (the attempt then stops).

        A list whose items repeat is cut where the first copy ended an item and the
        model went on to the next (a token ending in ``,`` right after ``}`` or ``]``);
        the next token must then close brackets only. A string or a number that repeats
        (a phrase again and again, ``2.000000...``) is cut after the first copy and must
        then close.
        """
        first_end = len(out) - (LOOP_COPIES - 1) * span
        for at in range(first_end - 1, first_end - span - 1, -1):
            piece = self.tokenizer.decode_bytes([out[at]]).rstrip()
            if not piece.endswith(b","):
                continue
            before = (self.tokenizer.decode_bytes(out[:at]) + piece[:-1]).rstrip()
            if before.endswith((b"}", b"]")):
                return at, self._all_but("list"), True
        state = open_value(self.tokenizer.decode_bytes(out[:first_end]))
        if state is None:
            return None
        return first_end, self._all_but(state), False

    def _all_but(self, closing: str) -> NDArray[np.int64]:
        """Every token except those that close what is open (see ``CLOSES``): the ones
        to ban at a loop's way out."""
        closes = CLOSES[closing]
        return self._tokens_where(f"all but {closing}", lambda piece: not closes(piece))

    def _tokens_where(self, name: str, test: Callable[[bytes], bool]) -> NDArray[np.int64]:
        """The ids of the tokens whose text passes ``test``; found once per model."""
        if name not in self._token_sets:
            decode = self.tokenizer.decode_bytes
            self._token_sets[name] = np.array(
                [t for t in range(self.n_vocab) if test(decode([t]))], dtype=np.int64
            )
        return self._token_sets[name]

    def _rewind(self, matcher: Any, out: list[int], at: int, prompt: int) -> None:
        """Drops ``out[at:]`` from the output, the matcher and the KV cache; the logits
        are then those for position ``at`` (the last kept token evaluated again)."""
        if not matcher.rollback(len(out) - at):
            raise RuntimeError(f"engine could not roll back: {matcher.get_error()}")
        del out[at:]
        last = out[-1] if out else int(self.llm.input_ids[prompt - 1])
        self.llm.n_tokens = prompt + len(out) - 1  # eval() drops the KV entries past this
        self.llm.eval([last])

    def _is_closer(self, token: int) -> bool:
        return self.tokenizer.decode_bytes([token]).strip() in (b"}", b"]")

    def _commas(self) -> NDArray[np.int64]:
        """Every token whose text starts with a comma."""
        return self._tokens_where("comma", lambda piece: piece.lstrip().startswith(b","))

    def _only_eos_left(self, matcher: Any) -> bool:
        """The value is complete and nothing may follow: no forward pass to sample EOS."""
        if not matcher.is_accepting():
            return False
        mask = self._mask
        matcher.unsafe_compute_mask_ptr(mask.ctypes.data, mask.nbytes)
        word, bit = divmod(self.eos, 32)
        words = mask.view(np.uint32)
        return bool(words[word] == (1 << bit) and np.count_nonzero(words) == 1)

    def _forced(self, matcher: Any, room: int, previous: int | None) -> list[int]:
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

    def _next_token(
        self, matcher: Any, temperature: float, rng: np.random.Generator, banned: Any
    ) -> int:
        mask = self._mask
        matcher.unsafe_compute_mask_ptr(mask.ctypes.data, mask.nbytes)
        allowed = np.unpackbits(mask.view(np.uint8), bitorder="little")[: self.n_vocab]
        if banned is not None:
            kept = allowed.copy()
            kept[banned] = 0  # leave a loop: anything the grammar allows but these
            if kept.any():
                allowed = kept
        logits = self._last_logits()
        masked = np.where(allowed.astype(bool), logits, -np.inf)
        if temperature <= 0:
            return int(np.argmax(masked))
        scaled = (masked - masked.max()) / temperature
        probs = np.exp(scaled)
        probs /= probs.sum()
        return int(rng.choice(self.n_vocab, p=probs))

    def _last_logits(self) -> NDArray[np.float32]:
        ptr = llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))


LOOP_COPIES = 3  # a span written this many times in a row, verbatim...
LOOP_MIN_SPAN = 6  # ...of at least this many tokens (a record, not a digit run)...
LOOP_MAX_SPAN = 256  # ...up to this long
MAX_LOOP_EXITS = 3  # lists ended early per answer; a fourth loop stops the answer


def repeating(out: list[int]) -> int:
    """The length of a span of tokens that ``out`` ends with ``LOOP_COPIES`` times in
    a row, or 0. Greedy decoding of a small model falls into such loops (the same list
    item again and again) and would fill any budget. Checked per token: only spans
    whose last token recurs are compared.
    """
    n = len(out)
    last = out[-1]
    for span in range(LOOP_MIN_SPAN, min(LOOP_MAX_SPAN, n // LOOP_COPIES) + 1):
        if out[n - 1 - span] != last or out[n - 1 - 2 * span] != last:
            continue
        tail = out[n - span :]
        if all(out[n - (k + 1) * span : n - k * span] == tail for k in range(1, LOOP_COPIES)):
            return span
    return 0


# The tokens that may end a loop, by what the cut leaves open: a list (only closing
# brackets, so no further item starts), a string (a closing quote, whatever follows it),
# a number (the separator or bracket after it).
CLOSES: dict[str, Callable[[bytes], bool]] = {
    "list": lambda piece: bool(piece.strip()) and not piece.strip().strip(b"}]"),
    "string": lambda piece: piece[:1] == b'"',
    "number": lambda piece: piece[:1] in (b",", b"}", b"]"),
}


def open_value(text: bytes) -> str | None:
    """``"string"`` or ``"number"`` if compact JSON ``text`` ends inside one (so a cut
    there can still close it), else None."""
    in_string = escaped = in_number = False
    for byte in text:
        char = chr(byte)
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string, in_number = True, False
        elif char in "-0123456789" and not in_number:
            in_number = True
        elif not (in_number and char in ".eE+-0123456789"):
            in_number = False
    if in_string:
        return "string"
    return "number" if in_number else None


_tokenizers: weakref.WeakKeyDictionary[llama_cpp.Llama, Any] = weakref.WeakKeyDictionary()
_tokenizers_lock = threading.Lock()


def tokenizer_for(llm: llama_cpp.Llama) -> Any:
    """llguidance's view of the model's vocabulary: about a second, so once per model.

    The tokenizer calls into ``llm``'s vocab: keep ``llm`` alive as long as it is used.
    """
    with _tokenizers_lock:
        cached = _tokenizers.get(llm)
        if cached is not None:
            return cached
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        with warnings.catch_warnings():
            # llguidance calls a llama.cpp symbol that llama-cpp-python marks deprecated.
            warnings.simplefilter("ignore", DeprecationWarning)
            tokenizer = llguidance.llamacpp.lltokenizer_from_vocab(vocab)
        _tokenizers[llm] = tokenizer
        return tokenizer


def _chat_formatter(llm: llama_cpp.Llama) -> Jinja2ChatFormatter:
    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise ValueError(
            "this GGUF file has no chat template (tokenizer.chat_template); "
            "use an instruction-tuned model"
        )
    detok = llm.detokenize
    eos = detok([llm.token_eos()], special=True).decode("utf-8", errors="replace")
    bos = detok([llm.token_bos()], special=True).decode("utf-8", errors="replace")
    return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)


@contextlib.contextmanager
def _quiet_stderr() -> Any:
    """llama.cpp prints load logs from C on fd 2 even with verbose=False."""
    try:
        fd = os.dup(2)
    except OSError:  # pragma: no cover
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(fd, 2)
        os.close(fd)
