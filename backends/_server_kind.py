"""Which OpenAI-compatible server is this? Read from its ``GET /v1/models`` answer.

Each server fills the model list its own way, and that is enough to pick its profile
(``extract.backends.openai_api.PROFILES``) once per client:

- llama-cpp-python: ``"owned_by": "me"`` and a ``"permissions"`` list;
- llama.cpp's ``llama-server``: ``"owned_by": "llamacpp"`` (and a ``meta`` object);
- vLLM: ``"owned_by": "vllm"`` (with ``max_model_len``);
- Ollama: ``"owned_by": "library"`` or the model's namespace, and no ``permissions``;
  its answers carry no header of their own, so it is told by ``ollama`` in the body
  or its default port.

A ``Server`` header naming llama.cpp is taken too. Anything else is ``None``: the
generic ``openai-compatible`` profile stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OLLAMA_PORT = 11434


def profile_from_models(body: Any, headers: Mapping[str, str], port: int | None) -> str | None:
    """The profile name for a server from its model list and response headers."""
    server = {k.lower(): v for k, v in headers.items()}.get("server", "").lower()
    if "llama.cpp" in server:
        return "llama.cpp"
    models = body.get("data") if isinstance(body, dict) else None
    first = models[0] if isinstance(models, list) and models else None
    if not isinstance(first, dict):
        return None
    owner = str(first.get("owned_by", "")).lower()
    if owner == "me" and isinstance(first.get("permissions"), list):
        return "llama-cpp-python"
    if owner == "llamacpp" or (isinstance(first.get("meta"), dict) and owner in ("", "llamacpp")):
        return "llama.cpp"
    if owner == "vllm" or "max_model_len" in first:
        return "vllm"
    if owner in ("library", "ollama") or (port == OLLAMA_PORT and "permissions" not in first):
        return "ollama"
    return None
