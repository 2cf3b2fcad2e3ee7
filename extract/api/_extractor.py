"""``Extractor`` (one model behind the verbs) and the module-level ``extract()``,
``aextract()``, ``stream()``... that use the embedded default model."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar, overload

from extract.backends import Backend
from extract.core._budget import Prices
from extract.core._errors import ModelLoadError, UsageError
from extract.core._model import default_model_path
from extract.core._options import check_deadline
from extract.core._result import Result
from extract.core._runner import BackendRunner
from extract.features.batch import LimitedBackend, RateLimit
from extract.features.documents import Text
from extract.features.streaming import AsyncItems, Items, Snapshot

from ._verbs import Verbs

T = TypeVar("T")


class Extractor(Verbs):
    """Extracts typed values from text with one model.

    ``model`` is a GGUF file path, a ``llama_cpp.Llama``, ``"openai:MODEL"``,
    ``"anthropic:MODEL"``, ``"litellm:MODEL"`` (any LiteLLM model string, e.g.
    ``"litellm:gemini/gemini-2.5-flash"``), instructor's ``"provider/model"``
    (``"openai/..."`` and ``"anthropic/..."`` use those SDKs, another provider LiteLLM
    knows goes through LiteLLM; an existing file of that name stays a GGUF path), an
    ``openai.OpenAI``/``AsyncOpenAI`` or ``anthropic.Anthropic``/``AsyncAnthropic``
    client (then pass ``model=``), a client built by ``instructor`` (``from_openai``,
    ``from_litellm``, ``from_provider``...), a distilled student (``"spacy:DIR"`` or a
    loaded spaCy pipeline), any object implementing ``extract.backends.Backend``, or
    ``None`` for the embedded default model.
    Hosted options: ``base_url`` (OpenAI-compatible servers), ``profile``, ``strategy``,
    ``retry`` (an ``extract.backends.RetryPolicy``), ``api_key``, ``timeout`` (seconds
    each whole call may take; for ``"openai:MODEL"``/``"anthropic:MODEL"``/
    ``"litellm:MODEL"`` 120 s unless given, for your own client its own timeout),
    ``asynchronous``. With LiteLLM every other keyword (``api_base``, ``api_key``,
    ``custom_llm_provider``, ``extra_headers``...) goes on to ``litellm.completion``; the
    strategies come from LiteLLM's knowledge of the model, and ``Result.usage.cost`` from
    its prices.
    ``deadline``: seconds each extraction may take in all (calls, transport retries and
    re-asks), else ``DeadlineExceededError``; a ``deadline=`` per call overrides it.
    ``rate_limit``: a ``RateLimit`` every request of this extractor waits for; give the
    same one to several extractors that share an API key.
    ``prices``: an ``extract.Prices`` (US$ per million input and output tokens), so that
    ``Result.usage.cost`` is known where the backend does not say what a call cost.
    """

    def __init__(
        self,
        model: Any = None,
        /,
        *,
        rate_limit: RateLimit | None = None,
        deadline: float | None = None,
        prices: Prices | None = None,
        **backend_options: Any,
    ) -> None:
        deadline = check_deadline(deadline)
        if prices is not None and not isinstance(prices, Prices):
            raise UsageError(f"prices must be an extract.Prices, not {prices!r}")
        if model is None and "model" in backend_options:  # Extractor(model="x.gguf")
            model = backend_options.pop("model")
        if rate_limit is not None and not isinstance(rate_limit, RateLimit):
            raise UsageError(f"rate_limit must be an extract.RateLimit, not {rate_limit!r}")
        backend = _backend_for(model, backend_options)
        if rate_limit is not None:
            backend = LimitedBackend(backend, rate_limit)
        self._model = BackendRunner(backend, deadline, prices)
        super().__init__(self._model)

    def __repr__(self) -> str:
        return f"Extractor({self.name!r})"

    @property
    def backend(self) -> Backend:
        """The model runtime it calls (``extract.backends.Backend``)."""
        return self._model.backend

    @property
    def deadline(self) -> float | None:
        """Seconds each extraction may take in all, or None."""
        return self._model.deadline


_default: Extractor | None = None
_default_lock = threading.Lock()


def default_extractor() -> Extractor:
    """The embedded default model, loaded once per process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Extractor()
        return _default


@overload
def extract(target: type[T], text: Text, **options: Any) -> T: ...
@overload
def extract(target: Any, text: Text, **options: Any) -> Any: ...
def extract(target: Any, text: Text, **options: Any) -> Any:
    """Extract a ``target`` (a Pydantic model, ``list[Model]``, ...) from ``text``."""
    return default_extractor().extract(target, text, **options)


async def aextract(target: Any, text: Text, **options: Any) -> Any:
    return await default_extractor().aextract(target, text, **options)


def stream(target: Any, text: Text, **options: Any) -> Iterator[Snapshot | Result[Any]]:
    """``Extractor.stream`` with the default extractor (the embedded model)."""
    return default_extractor().stream(target, text, **options)


def astream(target: Any, text: Text, **options: Any) -> AsyncIterator[Snapshot | Result[Any]]:
    """``Extractor.astream`` with the default extractor (the embedded model)."""
    return default_extractor().astream(target, text, **options)


@overload
def iter_items(target: type[list[T]], text: Text, **options: Any) -> Items[T]: ...
@overload
def iter_items(target: Any, text: Text, **options: Any) -> Items[Any]: ...
def iter_items(target: Any, text: Text, **options: Any) -> Items[Any]:
    """``Extractor.iter_items`` with the default extractor (the embedded model)."""
    return default_extractor().iter_items(target, text, **options)


@overload
def aiter_items(target: type[list[T]], text: Text, **options: Any) -> AsyncItems[T]: ...
@overload
def aiter_items(target: Any, text: Text, **options: Any) -> AsyncItems[Any]: ...
def aiter_items(target: Any, text: Text, **options: Any) -> AsyncItems[Any]:
    """``Extractor.aiter_items`` with the default extractor (the embedded model)."""
    return default_extractor().aiter_items(target, text, **options)


def _backend_for(model: Any, options: dict[str, Any]) -> Backend:
    if model is not None and not isinstance(model, (str, os.PathLike)):
        vendor = type(model).__module__.split(".")[0]
        if vendor in _CLIENTS:
            return _hosted_backend(vendor, model, options, from_client=True)
        if _is_backend(model):
            return model  # type: ignore[no-any-return]
        if vendor == "spacy":  # a pipeline that `extract distill` trained, already loaded
            return _student(model, options)
    if isinstance(model, str) and not os.path.exists(model):
        vendor, _, name = model.partition(":")
        if vendor in _NAMED and name:
            return _hosted_backend(vendor, name, options, from_client=False)
        if vendor == "spacy" and name:
            return _student(name, options)
        if (named := _provider_model(model)) is not None:
            return _hosted_backend(*named, options, from_client=False)
    try:
        from extract.backends._cpu import UnrunnableLibrary
        from extract.backends.llamacpp import LlamaCppBackend
    except ImportError as exc:
        raise ModelLoadError(str(exc)) from exc
    if model is None:
        model = default_model_path()
    try:
        return LlamaCppBackend(model, **options)
    except (FileNotFoundError, UnrunnableLibrary) as exc:
        raise ModelLoadError(str(exc)) from exc
    except (ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"could not load {model!r}: {exc}") from exc


# Vendor -> (backend module, factory, pip extra). Imported when used.
_BACKENDS = {
    "openai": ("extract.backends.openai_api", "OpenAIBackend", "hosted"),
    "anthropic": ("extract.backends.anthropic_api", "AnthropicBackend", "hosted"),
    "instructor": ("extract.backends.instructor_api", "instructor_backend", "instructor"),
    "litellm": ("extract.backends.litellm_api", "LiteLLMBackend", "litellm"),
}
_CLIENTS = ("openai", "anthropic", "instructor")  # a client object's top-level module
_NAMED = ("openai", "anthropic", "litellm")  # "openai:MODEL", "anthropic:MODEL"...
# How a provider is spelled in "provider/model" (LiteLLM's names: "together_ai"...).
_PROVIDER = re.compile(r"[a-z][a-z0-9_-]*")
# Providers named in LiteLLM's docs, for a clear error where LiteLLM is not installed
# (where it is, its own ``provider_list`` decides).
_WELL_KNOWN_PROVIDERS = frozenset(
    {
        "azure", "bedrock", "cerebras", "cohere", "databricks", "deepseek", "fireworks_ai",
        "gemini", "groq", "huggingface", "mistral", "ollama", "ollama_chat", "openrouter",
        "perplexity", "together_ai", "vertex_ai", "watsonx", "xai",
    }
)  # fmt: skip


def _provider_model(model: str) -> tuple[str, str] | None:
    """instructor's ``"provider/model"`` as (vendor, model): OpenAI and Anthropic have
    backends of their own, any other provider LiteLLM knows goes through LiteLLM.
    None when the prefix names no provider (the string stays a model path)."""
    provider, slash, name = model.partition("/")
    if not slash or not name or not _PROVIDER.fullmatch(provider) or model.endswith(".gguf"):
        return None
    if provider in ("openai", "anthropic"):
        return provider, name
    if provider in _litellm_providers():
        return "litellm", model
    return None


def _litellm_providers() -> frozenset[str]:
    """The providers LiteLLM knows (``litellm.provider_list``), or, where it is not
    installed, the best-known of them (then building the backend says how to install it)."""
    if importlib.util.find_spec("litellm") is None:
        return _WELL_KNOWN_PROVIDERS
    import litellm

    return frozenset(str(getattr(p, "value", p)) for p in litellm.provider_list)


def _hosted_backend(vendor: str, model: Any, options: dict[str, Any], from_client: bool) -> Backend:
    module_name, class_name, extra = _BACKENDS[vendor]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelLoadError(
            f"{vendor} needs its SDK: pip install 'structured-extract[{extra}]' ({exc})"
        ) from exc
    cls = getattr(module, class_name)
    try:
        if from_client:
            # An instructor client may carry a default model (instructor.from_provider).
            if "model" not in options and vendor != "instructor":
                raise UsageError(
                    f"pass model=... with a {vendor} client, e.g. Extractor(client, model='...')"
                )
            options = dict(options)
            return cls(model, options.pop("model", None), **options)  # type: ignore[no-any-return]
        return cls.from_name(model, **options)  # type: ignore[no-any-return]
    except ImportError as exc:  # the SDK itself, imported when the backend is made
        raise ModelLoadError(
            f"{vendor} needs its SDK: pip install 'structured-extract[{extra}]' ({exc})"
        ) from exc
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{vendor}: {exc}") from exc
    except Exception as exc:  # the SDK's own error, e.g. a missing key
        if type(exc).__module__.split(".")[0] == vendor:
            raise ModelLoadError(f"{vendor}: {exc}") from exc
        raise


def _student(model: Any, options: dict[str, Any]) -> Backend:
    try:
        from extract.backends.spacy_student import SpacyStudent
    except ImportError as exc:
        raise ModelLoadError(
            f"a spaCy student needs spaCy: pip install 'structured-extract[distill]' ({exc})"
        ) from exc
    try:
        return SpacyStudent(model, **options)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load the spaCy student {model!r}: {exc}") from exc


def _is_backend(obj: Any) -> bool:
    return callable(getattr(obj, "complete", None)) and hasattr(obj, "capabilities")
