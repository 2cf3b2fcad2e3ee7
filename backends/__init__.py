"""Model runtimes behind one small interface (``Backend.complete``), installed as
``extract.backends`` (the folder sits at the repository's top level).

A backend signals what is not an answer by raising ``ProviderFailure`` (a hosted call
failed after transport retries) or ``ContextWindowExceeded``; the core's loop turns
them into ``extract.ProviderError`` and ``extract.ContextWindowError`` with the
attempts and usage of the extraction. ``extract.backends.llamacpp`` drives a local
GGUF model through llama-cpp-python with an llguidance token mask; it is imported
lazily so the package works without it.
"""

from ._base import (
    AsyncBackend,
    Backend,
    Capabilities,
    Completion,
    ContextWindowExceeded,
    FinishReason,
    Image,
    Listener,
    Message,
    ProviderFailure,
    ProviderProblem,
    Request,
    TokenEvidence,
    acomplete,
)
from ._transport import RetryPolicy

__all__ = [
    "AsyncBackend",
    "Backend",
    "Capabilities",
    "Completion",
    "ContextWindowExceeded",
    "FinishReason",
    "Image",
    "Listener",
    "Message",
    "ProviderFailure",
    "ProviderProblem",
    "Request",
    "RetryPolicy",
    "TokenEvidence",
    "acomplete",
]
