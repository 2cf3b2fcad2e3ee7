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

from extract.api._extractor import Extractor
from extract.core._errors import UsageError
from extract.core._options import compile_target, parse_options
from extract.features.batch import Batch, open_cache


def load_target(spec: str) -> Any:
    """``package.module:Name`` -> the object, or a JSON Schema file path -> its dict.

    Whatever keeps the spec from giving a target (a missing file, a file that is not
    JSON, a module that fails to import) is a one-line ``UsageError``.
    """
    if spec.endswith(".json") and ":" not in spec:
        return _schema_file(spec)
    module_name, sep, attr = spec.partition(":")
    if not sep or not attr or not module_name:
        raise UsageError(f"--schema must be package.module:Name or a .json file, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import {module_name!r}: {exc}") from exc
    except SyntaxError as exc:
        where = f"{exc.filename}, line {exc.lineno}" if exc.filename else "its source"
        raise UsageError(f"cannot import {module_name!r}: {exc.msg} ({where})") from exc
    except Exception as exc:  # the module's own code raised while importing
        raise UsageError(
            f"cannot import {module_name!r}: it raised {type(exc).__name__}: {exc}"
        ) from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UsageError(f"{module_name!r} has no attribute {attr!r}") from None


def _schema_file(path: str) -> Any:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UsageError(f"cannot read the schema {path}: {exc.strerror or exc}") from exc
    try:
        loaded: Any = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"the schema {path} is not UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start})"
        ) from exc
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"the schema {path} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise UsageError(f"the schema {path} is not JSON: nested too deeply") from exc
    if _is_test_file(loaded):
        print(f"{path}: a schema with test instances; using its 'schema'", file=sys.stderr)
        return loaded["schema"]
    if not isinstance(loaded, dict | bool):
        found = type(loaded).__name__
        raise UsageError(f"the schema {path} must be a JSON object (a JSON Schema), not {found}")
    return loaded


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
        runner = loaded[models[0]].runner
        return Batch(runner, target, compiled, parsed, open_cache(cache), None, owns_cache=True)
    from extract.api._ensemble import Ensemble

    sampling = {"temperature": options.pop("temperature")} if "temperature" in options else {}
    ensemble = Ensemble([loaded[name] for name in models], samples=samples, **sampling)
    parsed = parse_options(target, options)
    runner = ensemble.runner
    return Batch(runner, target, compiled, parsed, open_cache(cache), None, owns_cache=True)


def _extractor(
    model: str | None, backend: str | Callable[[], Any] | None, threads: int | None
) -> Extractor:
    factory = load_target(backend) if isinstance(backend, str) else backend
    if factory is not None:
        return Extractor(factory())
    if threads is not None and (model is None or os.path.exists(model)):
        return Extractor(model, n_threads=threads)  # a local GGUF model
    return Extractor(model)
