"""The one interface every model runtime implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from schemas import CompiledSchema

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; callers dispatch on this, never on the class."""

    grammar: bool = False  # enforces an llguidance grammar token by token
    prefix_cache: bool = False  # reuses the KV cache of a shared prompt prefix
    context_window: int | None = None


@dataclass(frozen=True)
class Request:
    messages: tuple[Message, ...]
    schema: CompiledSchema
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int | None = None


FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int = 0
    timings: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def name(self) -> str: ...

    def complete(self, request: Request) -> Completion: ...


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
