"""Model runtimes behind one small interface (``Backend.complete``).

``backends.llamacpp`` drives a local GGUF model through llama-cpp-python with an
llguidance token mask; it is imported lazily so the package works without it.
"""

from ._base import (
    AsyncBackend,
    Backend,
    Capabilities,
    Completion,
    ContextWindowExceeded,
    FinishReason,
    Listener,
    Message,
    ProviderFailure,
    ProviderProblem,
    Request,
    acomplete,
)
from ._exchange import adrive, drive
from ._transport import RetryPolicy

__all__ = [
    "AsyncBackend",
    "Backend",
    "Capabilities",
    "Completion",
    "ContextWindowExceeded",
    "FinishReason",
    "Listener",
    "Message",
    "ProviderFailure",
    "ProviderProblem",
    "Request",
    "RetryPolicy",
    "acomplete",
    "adrive",
    "drive",
]
