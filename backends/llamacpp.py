"""Local GGUF models: llama-cpp-python for the forward pass, llguidance for the mask.

Our own decode loop, because llama-cpp-python's grammar sampler takes GBNF only and
its JSON-schema converter both pads output with whitespace and can crash the process
on patterns such as ``\\d``. Per token we do: forward pass, mask, argmax (``_answer``),
for every answer in flight in one batch (``_sequences``). The KV cache of the longest
common prompt prefix is kept between calls and shared between sequences, so a shared
system prompt (schema and instructions first, document last) is evaluated once.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import os
import threading
import time
import warnings
import weakref
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _cpu
from ._base import (
    Capabilities,
    Completion,
    ContextWindowExceeded,
    Message,
    Request,
    TokenEvidence,
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

from ._answer import Answer, Vocabulary
from ._sequences import Feed, Sequences, common_prefix


def refuse_unrunnable_library() -> None:
    """Raise ``_cpu.UnrunnableLibrary`` rather than let the first prompt kill the process."""
    found = _library_verdict()
    if not found.ok:
        raise _cpu.UnrunnableLibrary(found.reason)


def _default_threads() -> int:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 1
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            cpuinfo = handle.read()
    except OSError:
        cpuinfo = ""
    return _cpu.physical_cores(cpuinfo, usable)


@functools.cache
def _library_verdict() -> _cpu.Verdict:
    info = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            cpuinfo = handle.read()
    except OSError:
        cpuinfo = ""  # not Linux: flags unknown, the library is trusted as llama.cpp does
    return _cpu.check(info, cpuinfo)


SHARE_AT_LEAST = 16  # tokens of a prompt being evaluated worth waiting a step to share
DEFAULT_SEQUENCES = 1  # answers in flight: opt-in until batching pays (docs/benchmarks/batching.md)
LLAMA_OWN_CONTEXT = 512  # the Llama object's context: one batch, never decoded in


class LlamaCppBackend:
    """A ``llama_cpp.Llama`` (or a GGUF path) with grammar-constrained decoding.

    Requests from several threads (``run_many``) are decoded together: up to
    ``sequences`` answers in flight in one context, one forward pass per step for all
    of them, a new document admitted as soon as another finishes (continuous batching).
    Whichever caller holds the lock runs the next step for everyone, so no thread of
    our own is started.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | llama_cpp.Llama,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        sequences: int = DEFAULT_SEQUENCES,
        fast_forward: bool = True,
        loop_guard: bool = True,
    ) -> None:
        refuse_unrunnable_library()
        if not isinstance(sequences, int) or sequences < 1:
            raise ValueError("sequences must be an int >= 1")
        if n_threads is None:
            n_threads = _default_threads()  # llama-cpp-python's own default is half the CPUs
        if isinstance(model, llama_cpp.Llama):
            self.llm = model
            self._path = str(getattr(model, "model_path", "llama_cpp.Llama"))
            n_ctx = int(model.n_ctx())
        else:
            path = os.fspath(model)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"no GGUF model file at {path!r}")
            with _quiet_stderr():
                # The Llama object serves the vocabulary and chat template; decoding
                # runs in our own context (below), so its own stays at one batch.
                self.llm = llama_cpp.Llama(
                    model_path=path,
                    n_ctx=LLAMA_OWN_CONTEXT,
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    verbose=False,
                )
            self._path = path
        params = self.llm.context_params
        with _quiet_stderr():
            # Prompt evaluation gets the same threads: its default, every CPU,
            # oversubscribes the machine when several models share it (--workers).
            self.sequences = Sequences(
                self.llm.model,
                count=sequences,
                n_ctx=n_ctx,
                n_threads=int(params.n_threads),
                n_threads_batch=int(params.n_threads_batch),
                like=params,  # same numerics as the Llama's own context
            )
        self.tokenizer = tokenizer_for(self.llm)
        self.vocabulary = Vocabulary(self.llm, self.tokenizer, fast_forward=fast_forward)
        self.loop_guard = loop_guard
        self._formatter = _chat_formatter(self.llm)
        self._lock = threading.Lock()  # held while a step runs
        # Callers queue under ``_turn`` (never held during a step, so a new request is
        # never kept waiting behind the decoding); one of them at a time drives.
        self._turn = threading.Condition()
        self._driving = False
        self._waiting: collections.deque[_Job] = collections.deque()
        self._active: list[_Job] = []
        self._capabilities = Capabilities(
            grammar=True,
            prefix_cache=True,
            context_window=n_ctx,
            max_concurrency=sequences,  # more would only wait for a free sequence
            takes_back=loop_guard,
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def name(self) -> str:
        return f"llama.cpp:{os.path.basename(self._path)}"

    @property
    def fast_forward(self) -> bool:
        return self.vocabulary.fast_forward

    @fast_forward.setter
    def fast_forward(self, on: bool) -> None:
        self.vocabulary.fast_forward = on

    def close(self) -> None:
        """Free the decoding context and the model now rather than at exit."""
        self.sequences.close()
        self.llm.close()

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
        answer = Answer(self.vocabulary, matcher, request, tokens, loop_guard=self.loop_guard)
        job = _Job(answer, started)
        with self._turn:
            self._waiting.append(job)
            while not job.over and self._driving:
                self._turn.wait()  # another caller is running steps; woken when one ends
            if not job.over:
                self._driving = True
        if not job.over:
            self._drive(job)
        if job.error is not None:
            raise job.error
        assert job.completion is not None
        return job.completion

    def _drive(self, job: _Job) -> None:
        """Run steps for every request until ``job`` is over, then hand over: a caller
        still waiting wakes and drives its own (and everyone's) requests on."""
        try:
            while not job.over:
                with self._lock:
                    finished = self._step()
                if finished:
                    with self._turn:
                        self._turn.notify_all()
        finally:
            with self._turn:
                self._driving = False
                self._turn.notify_all()

    def _step(self) -> bool:
        """Admit what fits, advance every answer in flight by one token (or a forced
        run), and evaluate all of their new tokens in one batch; True if an answer
        ended."""
        finished = False
        try:
            feeds = self._admit()
            for job in list(self._active):
                if job.logits is None:
                    continue  # admitted this step: its prompt is in this batch
                try:
                    step = job.answer.advance(job.logits)
                    if job.answer.request.listener is not None:
                        self._tell(job)
                except Exception as exc:
                    self._finish(job, error=exc)
                    finished = True
                    continue
                if step is None:
                    self._finish(job)
                    finished = True
                else:
                    feeds.append(Feed(job.seq, *step))
            if not feeds:
                return finished
            busy = [job.seq for job in self._active]
            logits = self.sequences.decode(feeds, busy)
        except BaseException as exc:
            for job in [*self._active, *self._waiting]:
                self._finish(job, error=exc)  # the context's state is unknown
            self._waiting.clear()
            raise
        now = time.perf_counter()
        for feed in feeds:
            job = self._at(feed.seq)
            job.logits = logits[feed.seq]
            job.prompt_done = job.prompt_done or now
        return finished

    def _admit(self) -> list[Feed]:
        feeds: list[Feed] = []
        placed: list[list[int]] = []  # the prompts admitted in this step
        while self._waiting and len(self._active) < self.sequences.count:
            job = self._waiting[0]
            tokens = job.answer.prompt
            shared = self.sequences.shared_prefix(tokens)
            if any(common_prefix(p, tokens, len(tokens)) > shared + SHARE_AT_LEAST for p in placed):
                break  # a prompt placed in this step holds more of it: copy that next step
            need = len(tokens) - shared + job.answer.request.max_tokens
            if self._active and self._reserved() + need > self.sequences.n_ctx:
                break  # wait for an answer to finish and free its cells
            self._waiting.popleft()
            busy = [j.seq for j in self._active]
            job.seq = self.sequences.best_idle(tokens, busy)
            job.cached = self.sequences.place(job.seq, tokens)
            job.need = len(tokens) - job.cached + job.answer.request.max_tokens
            self._active.append(job)
            forced = job.answer.begin()
            feeds.append(Feed(job.seq, job.cached, [*tokens[job.cached :], *forced]))
            placed.append(tokens)
        return feeds

    def _reserved(self) -> int:
        """Cells the answers in flight may still use: what they placed beyond a shared
        prefix, and their whole token budget."""
        return sum(job.need for job in self._active)

    def _at(self, seq: int) -> _Job:
        return next(job for job in self._active if job.seq == seq)

    def _tell(self, job: _Job) -> None:
        """Give the listener what the answer gained since it was last told, and how much
        of the old still stands (less after the loop guard took tokens back)."""
        answer = job.answer
        out = answer.out
        cut = answer.rewound_to
        kept = job.told if cut is None else min(job.told, cut)
        answer.rewound_to = None
        decode = self.tokenizer.decode_bytes
        kept_bytes = job.told_bytes if kept == job.told else len(decode(out[:kept]))
        added = decode(out[kept:]) if kept < len(out) else b""
        if kept == job.told and not added:
            return
        job.told, job.told_bytes = len(out), kept_bytes + len(added)
        assert answer.request.listener is not None
        answer.request.listener(kept_bytes, added)

    def _finish(self, job: _Job, error: BaseException | None = None) -> None:
        if job in self._active:
            self._active.remove(job)
        if error is not None:
            job.error = error
            return
        answer = job.answer
        ended = time.perf_counter()
        text = self.tokenizer.decode_bytes(answer.out).decode("utf-8", errors="replace")
        prompt_done = job.prompt_done or ended
        decode = self.tokenizer.decode_bytes
        evidence = tuple(
            TokenEvidence(len(decode([token])), *(said or (None, 0.0)))
            for token, said in zip(answer.out, answer.evidence, strict=True)
        )
        job.completion = Completion(
            text=text,
            finish_reason=answer.finish or "stop",
            prompt_tokens=len(answer.prompt),
            completion_tokens=len(answer.out),
            cached_prompt_tokens=job.cached,
            timings={
                "prompt_s": prompt_done - job.started,
                "decode_s": ended - prompt_done,
                "total_s": ended - job.started,
            },
            evidence=evidence,
        )


@dataclasses.dataclass(eq=False)
class _Job:
    """One request in the backend: waiting, in flight on sequence ``seq``, or done."""

    answer: Answer
    started: float
    seq: int = -1
    cached: int = 0
    need: int = 0
    logits: NDArray[np.float32] | None = None
    prompt_done: float = 0.0
    completion: Completion | None = None
    error: BaseException | None = None
    told: int = 0  # output tokens the listener has been given
    told_bytes: int = 0

    @property
    def over(self) -> bool:
        return self.completion is not None or self.error is not None


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
