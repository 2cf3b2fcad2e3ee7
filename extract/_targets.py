"""Targets named by a string, and the batch one worker runs: library code that the CLI,
its worker processes and Ray actors share.

``load_target`` turns ``package.module:Name`` or a JSON Schema file into the object to
extract; a bad spec is a ``UsageError`` (the CLI prints it and exits 2).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from ._api import Extractor
from ._errors import UsageError
from ._options import compile_target, parse_options
from .batch import Batch, open_cache


def load_target(spec: str) -> Any:
    """``package.module:Name`` -> the object, or a JSON Schema file path -> its dict."""
    if os.path.isfile(spec) and spec.endswith(".json"):
        with open(spec, encoding="utf-8") as f:
            loaded: Any = json.load(f)
        if _is_test_file(loaded):
            print(f"{spec}: a schema with test instances; using its 'schema'", file=sys.stderr)
            return loaded["schema"]
        return loaded
    module_name, sep, attr = spec.partition(":")
    if not sep or not attr:
        raise UsageError(f"--schema must be package.module:Name or a .json file, got {spec!r}")
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import {module_name!r}: {exc}") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UsageError(f"{module_name!r} has no attribute {attr!r}") from None


def _is_test_file(loaded: Any) -> bool:
    """A JSON Schema test file (``{"schema": {...}, "tests": [...]}``), not a schema."""
    return (
        isinstance(loaded, dict)
        and isinstance(loaded.get("schema"), dict)
        and isinstance(loaded.get("tests"), list)
        and not {"type", "properties", "$ref", "anyOf", "allOf", "oneOf"} & set(loaded)
    )


def batch_for(
    target: Any,
    model: str | list[str] | None,
    backend: str | Callable[[], Any] | None,
    cache: str | None,
    options: dict[str, Any],
    threads: int | None = None,
) -> Batch:
    """What one worker (process or Ray actor) runs: the target (an object or a
    ``package.module:Name`` / schema file spec) on its own model, loaded here.

    Several models, or ``options["samples"] > 1``, make an ``Ensemble`` of them (each
    distinct model loaded once; ``temperature`` is then the samples' temperature)."""
    if isinstance(target, str):
        target = load_target(target)
    options = dict(options)
    samples = options.pop("samples", 1)
    models = model if isinstance(model, list) else [model]
    loaded: dict[str | None, Extractor] = {}
    for name in models:
        if name not in loaded:
            loaded[name] = _extractor(name, backend, threads)
    compiled = compile_target(target)
    if len(models) == 1 and samples == 1:
        parsed = parse_options(target, options)
        return loaded[models[0]].new_batch(
            target, compiled, parsed, open_cache(cache), None, owns_cache=True
        )
    from .ensemble import Ensemble

    sampling = {"temperature": options.pop("temperature")} if "temperature" in options else {}
    ensemble = Ensemble([loaded[name] for name in models], samples=samples, **sampling)
    parsed = parse_options(target, options)
    return ensemble.new_batch(target, compiled, parsed, open_cache(cache), None, owns_cache=True)


def _extractor(
    model: str | None, backend: str | Callable[[], Any] | None, threads: int | None
) -> Extractor:
    factory = load_target(backend) if isinstance(backend, str) else backend
    if factory is not None:
        return Extractor(factory())
    if threads is not None and (model is None or os.path.exists(model)):
        return Extractor(model, n_threads=threads)  # a local GGUF model
    return Extractor(model)
