"""The one interface every model runtime implements."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast, runtime_checkable

from extract.schemas import CompiledSchema, ConstraintReport

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class Image:
    """A picture sent with a message (a document's page): PNG or JPEG bytes."""

    media_type: str  # "image/png" or "image/jpeg"
    data: bytes = field(repr=False)

    def base64(self) -> str:
        import base64

        return base64.b64encode(self.data).decode("ascii")

    @classmethod
    def of(cls, data: bytes) -> Image | None:
        """PNG or JPEG bytes as an ``Image`` (type from the magic number), else None."""
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            return cls("image/png", data)
        if data.startswith(b"\xff\xd8\xff"):
            return cls("image/jpeg", data)
        return None


@dataclass(frozen=True)
class Message:
    """One chat turn. ``call_id`` ties an assistant's tool call to the tool's answer;
    ``images`` go with the text to models that read them (``Capabilities.images``)."""

    role: Role
    content: str
    call_id: str | None = None
    images: tuple[Image, ...] = ()


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; callers dispatch on this, never on the class."""

    grammar: bool = False  # enforces an llguidance grammar token by token
    prefix_cache: bool = False  # reuses the KV cache of a shared prompt prefix
    context_window: int | None = None
    # Requests it serves at once (one llama context: 1); None: as many as callers send.
    max_concurrency: int | None = None
    # Has ``acomplete(request)``, a coroutine that never blocks the event loop (see
    # ``AsyncBackend``); otherwise async callers run ``complete`` in a worker thread.
    asynchronous: bool = False
    # Hosted APIs: how the schema reaches the model, in order of preference
    # ("tools_strict", "json_schema", "tools", "json_object", "prompt").
    strategies: tuple[str, ...] = ()
    # False: answers from the document alone, not the prompt (a trained student), so a
    # re-ask with the validator's errors cannot change the answer and is not made.
    reads_prompt: bool = True
    # Streaming: an answer already told to the listener may be cut back (the local
    # decoder's loop guard), so what repeats earlier items may still be taken away.
    takes_back: bool = False
    # Sends a message's images to the model (hosted vision models); others refuse them.
    images: bool = False


class Listener(Protocol):
    """Told an answer as it is decoded (``Request.listener``; streaming)."""

    def __call__(self, kept: int, added: bytes) -> None:
        """``kept``: how many bytes of what it was told before still stand (fewer when
        a local decoder takes tokens back, 0 when a call starts over); ``added``: the
        bytes that follow them."""

    def within(self, pointer: str) -> None:
        """The record is the answer's value at ``pointer`` (``"/value"`` when a
        provider's schema wraps a root that is not an object); ``""`` by default."""


@dataclass(frozen=True)
class Request:
    messages: tuple[Message, ...]
    schema: CompiledSchema
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int | None = None
    # The document that grounded strings are copied from (``extract.Quote``); a local
    # decoder then allows only its substrings there. None: nothing is grounded.
    grounding: str | None = None
    # The document itself, for backends that read it rather than the prompt (a trained
    # task-specific model: ``extract.backends.spacy_student``).
    document: str | None = None
    # Streaming: told the answer as it is decoded. Backends that cannot stream ignore it
    # (the whole answer comes at once).
    listener: Listener | None = field(default=None, compare=False)
    # When the whole extraction must be over (``time.monotonic()``), or None: hosted
    # backends cut their calls and transport retries to it (``extract.backends.Deadline``).
    deadline: float | None = field(default=None, compare=False)


# "repetition": a local decoder stopped an answer that had started repeating itself.
FinishReason = Literal["stop", "length", "refusal", "repetition"]


@dataclass(frozen=True)
class TokenEvidence:
    """One output token: its length in bytes, the model's probability of it among the
    tokens the grammar allowed there (``p``; None when the grammar forced it, which is
    no evidence) and that of the most likely other allowed token (``runner_up``)."""

    size: int
    p: float | None
    runner_up: float = 0.0


@dataclass(frozen=True)
class Completion:
    """One model answer.

    ``text`` is the JSON candidate as the model wrote it. A hosted backend that sent
    the schema in a provider's dialect sets ``restore`` to map a parsed value back to
    the user's schema (unwrap a non-object root, drop nulls that stand for omitted
    fields), ``call_id`` when the answer was a tool call (the re-ask then answers that
    call), and ``report`` to say what the provider enforced.
    """

    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    # What the call cost in money (US dollars), where the backend knows the price.
    cost: float | None = None
    call_id: str | None = None
    restore: Callable[[Any], Any] | None = None
    report: ConstraintReport | None = None
    # Offsets the backend knows (pointer -> (start, end) in the document): a model that
    # predicts spans gives them, and they become ``Result.spans`` as they are.
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    # A decoder that sees its token distributions gives them, token by token, so that
    # each value's confidence can be read off the tokens that wrote it (``text`` is
    # then exactly those tokens' bytes, decoded).
    evidence: tuple[TokenEvidence, ...] = ()
    # Where the record sits in ``text`` (a JSON pointer) when the backend wrapped it
    # for the provider (a list root sent as {"value": [...]}); "" when it is the text.
    within: str = ""


@runtime_checkable
class Backend(Protocol):
    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def name(self) -> str: ...

    def complete(self, request: Request) -> Completion: ...


@runtime_checkable
class AsyncBackend(Backend, Protocol):
    """A backend that declares ``Capabilities(asynchronous=True)``."""

    async def acomplete(self, request: Request) -> Completion: ...


async def acomplete(backend: Backend, request: Request) -> Completion:
    """``backend``'s answer without blocking the event loop: its own ``acomplete`` when
    its capabilities declare one, else ``complete`` in a worker thread. Cancelling an
    ``acomplete`` cancels the request in flight; a thread runs to its end."""
    if not backend.capabilities.asynchronous:
        return await asyncio.to_thread(backend.complete, request)
    if not callable(getattr(backend, "acomplete", None)):
        raise TypeError(f"{backend.name} declares asynchronous=True but has no acomplete()")
    return await cast(AsyncBackend, backend).acomplete(request)


class ContextWindowExceeded(Exception):
    """The prompt alone leaves no room for an answer in the model's context window."""

    def __init__(self, prompt_tokens: int, context_window: int, max_tokens: int) -> None:
        self.prompt_tokens = prompt_tokens
        self.context_window = context_window
        self.max_tokens = max_tokens
        super().__init__(
            f"the prompt is {prompt_tokens} tokens and the answer may need up to {max_tokens}, "
            f"but the model's context window is {context_window} tokens; shorten the text, "
            f"lower max_tokens, or load the model with a larger n_ctx"
        )


ProviderProblem = Literal[
    "rate_limit",
    "server",
    "timeout",
    "connection",
    "authentication",
    "permission",
    "not_found",
    "bad_request",
    "bad_response",
    "other",
]


class ProviderFailure(Exception):
    """A hosted API call failed (after transport retries, if it was retryable).

    Raised without a chain (no ``__cause__`` or ``__context__``): the SDK's exception
    can carry the API key (a server echoing it, the request's headers), so only a
    redacted summary of it is kept, in the message."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        problem: ProviderProblem,
        retryable: bool,
        status_code: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        deadline_exceeded: bool = False,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.problem = problem
        self.retryable = retryable
        self.status_code = status_code
        self.request_id = request_id
        self.retry_after = retry_after
        # The caller's deadline ended it (no time left to call or to wait), not the server.
        self.deadline_exceeded = deadline_exceeded
