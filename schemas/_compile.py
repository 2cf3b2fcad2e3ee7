"""Step 3 of the pipeline: normalized JSON Schema -> llguidance grammar + report.

Never raises on a schema the engine cannot express: it walks a ladder of looser
grammars and moves what each step gives up into the report's ``validated_after``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llguidance import LLMatcher
from pydantic import BaseModel

from ._normalize import VALIDATION_KEYWORDS, JsonSchema, Normalized, normalize, schema_of, walk
from ._regex import Dialect
from ._report import Constraint, ConstraintReport
from ._validate import JsonSchemaValidator, PydanticValidator

if TYPE_CHECKING:
    from llguidance._lib import JsonCompileOptions

# Compact JSON: no optional whitespace, so no tokens are spent on it.
GRAMMAR_OPTIONS: JsonCompileOptions = {
    "whitespace_flexible": False,
    "item_separator": ",",
    "key_separator": ":",
    "lenient": True,  # unimplemented keywords become warnings, reported below
    "coerce_one_of": True,  # oneOf decoded as anyOf; exclusivity validated after
}

_UNIMPLEMENTED = re.compile(r"Unimplemented keys: \[(.*)\]")
_UNKNOWN_FORMAT = re.compile(r"Unknown format: (.+)")


@dataclass(frozen=True)
class CompiledSchema:
    """Everything a backend and the retry loop need for one schema."""

    json_schema: JsonSchema  # the schema as the user wrote it (for prompts)
    grammar: str  # llguidance grammar (JSON text)
    report: ConstraintReport
    key: str  # content hash of the schema: the cache key
    validate: Callable[[str], Any]  # returns the value, or schemas.Invalid


_CACHE_SIZE = 1024
_cache: OrderedDict[tuple[str, Any], CompiledSchema] = OrderedDict()
_cache_lock = threading.Lock()


def compile_schema(target: Any) -> CompiledSchema:
    """Compile a Pydantic type, ``list[Model]`` or raw JSON Schema dict (cached by content)."""
    schema, source = schema_of(target)
    key = schema_key(schema)
    # Two Pydantic types with equal schemas can differ in validators: the type itself
    # is part of the cache key. Raw schemas are keyed by content alone.
    cache_key = (key, target if source == "pydantic" else None)
    try:
        hash(cache_key)
    except TypeError:
        cache_key = (key, id(target))  # unhashable annotation metadata: cache per object
    with _cache_lock:
        hit = _cache.get(cache_key)
        if hit is not None:
            _cache.move_to_end(cache_key)
            return hit
    validator: Callable[[str], Any] = (
        PydanticValidator(target) if source == "pydantic" else JsonSchemaValidator(schema)
    )
    normalized = normalize(
        schema, source, regex_dialect(target) if source == "pydantic" else "python"
    )
    grammar, report = _grammar_with_fallbacks(normalized)
    report = _with_validators(report, target)
    compiled = CompiledSchema(schema, grammar, report, key, validator)
    with _cache_lock:
        _cache[cache_key] = compiled
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return compiled


def schema_key(schema: JsonSchema) -> str:
    """A content hash of a JSON Schema."""
    text = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _grammar_with_fallbacks(normalized: Normalized) -> tuple[str, ConstraintReport]:
    constraints = _constraints(normalized.schema)
    notes = list(normalized.notes)
    ladder: list[tuple[str, JsonSchema]] = [
        ("as written", normalized.schema),
        ("without pattern and format", _without(normalized.schema, {"pattern", "format"})),
        ("top-level type only", _top_type_only(normalized.schema)),
        ("any JSON value", {}),
    ]
    for step, (label, schema) in enumerate(ladder):
        try:
            grammar = LLMatcher.grammar_from_json_schema(schema, defaults=GRAMMAR_OPTIONS)
        except ValueError as exc:
            notes.append(f"grammar {label!r} rejected: {exc}")
            continue
        is_error, messages = LLMatcher.validate_grammar_with_warnings(grammar)
        if is_error:
            notes.append(
                f"grammar {label!r} rejected: {messages[0] if messages else 'unknown error'}"
            )
            continue
        enforced, after = _split(constraints, schema, messages, step)
        after = list(normalized.dropped) + after
        notes.extend(
            m for m in messages if not _UNIMPLEMENTED.match(m) and not _UNKNOWN_FORMAT.match(m)
        )
        if step > 0:
            notes.append(f"grammar loosened to {label!r}; the rest is validated after decoding")
        report = ConstraintReport(
            enforced=tuple(enforced),
            validated_after=tuple(after),
            degraded=step > 0 or bool(after),
            notes=tuple(notes),
        )
        return grammar, report
    raise AssertionError("the empty schema always compiles")  # pragma: no cover


def _constraints(schema: JsonSchema) -> list[Constraint]:
    found = []
    for path, node in walk(schema):
        for keyword in VALIDATION_KEYWORDS:
            if keyword in node:
                detail = str(node[keyword]) if keyword in ("format", "pattern") else ""
                found.append(Constraint(path, keyword, detail))
    return found


def _split(
    constraints: list[Constraint], used: JsonSchema, messages: list[str], step: int
) -> tuple[list[Constraint], list[Constraint]]:
    unimplemented: set[str] = set()
    unknown_formats: set[str] = set()
    for message in messages:
        if m := _UNIMPLEMENTED.match(message):
            unimplemented.update(k.strip().strip('"') for k in m.group(1).split(","))
        elif m := _UNKNOWN_FORMAT.match(message):
            unknown_formats.add(m.group(1).strip())
    kept = {(c.path, c.keyword) for c in _constraints(used)} if step > 0 else None
    enforced, after = [], []
    for c in constraints:
        lost = (
            _under_keyword(c.path, unimplemented)
            or c.keyword in unimplemented
            or (c.keyword == "format" and c.detail in unknown_formats)
            or (kept is not None and (c.path, c.keyword) not in kept)
        )
        if c.keyword == "format" and not lost:
            # The engine's formats are regex shapes: "2024-02-30" or a leap second
            # "10:47:60Z" pass them. The exact check runs after decoding.
            enforced.append(Constraint(c.path, "format", f"{c.detail}: shape"))
            after.append(Constraint(c.path, "format", f"{c.detail}: exact value"))
        elif c.keyword == "oneOf" and not lost:
            enforced.append(Constraint(c.path, "anyOf", "branches enforced"))
            after.append(Constraint(c.path, "oneOf", "exactly one branch: checked after decoding"))
        elif lost:
            after.append(c)
        else:
            enforced.append(c)
    return enforced, after


_NAMED_CHILDREN = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")


def _under_keyword(path: str, keywords: set[str]) -> bool:
    """Whether ``path`` lies inside a sub-schema of one of ``keywords``.

    A segment right after ``properties`` (and the like) is a name, not a keyword.
    """
    segments = path.split("/")
    return any(
        seg in keywords and segments[i - 1] not in _NAMED_CHILDREN
        for i, seg in enumerate(segments)
        if i > 0
    )


def _without(schema: JsonSchema, keywords: set[str]) -> JsonSchema:
    stripped: JsonSchema = json.loads(json.dumps(schema))
    for _, node in walk(stripped):
        for keyword in keywords:
            node.pop(keyword, None)
    return stripped


def _top_type_only(schema: JsonSchema) -> JsonSchema:
    kind = schema.get("type")
    return {"type": kind} if isinstance(kind, (str, list)) else {}


def regex_dialect(target: Any) -> Dialect:
    """Pydantic checks ``pattern`` with Rust's regex crate unless a model asks for ``re``."""
    for model in _models_in(target):
        if model.model_config.get("regex_engine") == "python-re":
            return "python"
    return "rust"


def _with_validators(report: ConstraintReport, target: Any) -> ConstraintReport:
    found = [Constraint(path, "validator", name) for path, name in _custom_validators(target)]
    if not found:
        return report
    return ConstraintReport(
        enforced=report.enforced,
        validated_after=report.validated_after + tuple(found),
        degraded=True,
        notes=report.notes,
    )


def _custom_validators(
    target: Any, path: str = "", seen: set[int] | None = None
) -> list[tuple[str, str]]:
    """Pydantic validators reachable from the target type: a grammar cannot run them."""
    seen = set() if seen is None else seen
    out: list[tuple[str, str]] = []
    for model in _models_in(target):
        if id(model) in seen:
            continue
        seen.add(id(model))
        decorators = model.__pydantic_decorators__
        for group in (decorators.field_validators, decorators.model_validators):
            for name in group:
                out.append((f"{path}{model.__name__}", name))
        for name, info in model.model_fields.items():
            out.extend(_custom_validators(info.annotation, f"{path}{model.__name__}.{name}:", seen))
    return out


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    args = getattr(annotation, "__args__", None) or ()
    metadata = getattr(annotation, "__origin__", None)
    found: list[type[BaseModel]] = []
    for arg in args:
        found.extend(_models_in(arg))
    if metadata is not None and not args:
        found.extend(_models_in(metadata))
    return found
