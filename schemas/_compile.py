"""Step 3 of the pipeline: normalized JSON Schema -> llguidance grammar + report.

Never raises on a schema the engine cannot express: it walks a ladder of looser
grammars and moves what each step gives up into the report's ``validated_after``.
"""

from __future__ import annotations

import functools
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

from ._grounded import GROUNDED, grounded_lark, is_grounded
from ._normalize import (
    VALIDATION_KEYWORDS,
    JsonSchema,
    Normalized,
    constraints_in,
    json_copy,
    normalize,
    schema_of,
    walk,
)
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
class _Choice:
    """The grammar the engine accepted, and what it said while compiling it."""

    step: int  # rung of the ladder: 0 is the schema as written
    grammar: str
    schema: JsonSchema  # the schema that grammar was made from
    warnings: tuple[str, ...]
    notes: tuple[str, ...]  # why earlier rungs were rejected


class CompiledSchema:
    """Everything a backend and the retry loop need for one schema.

    The engine compiles a grammar when a matcher is made for a tokenizer, and that
    compile is most of the time before the first token. So the grammar is not
    compiled twice: ``matcher()`` compiles it once and keeps the engine's warnings;
    only if the engine rejects it is the ladder of looser grammars walked. The report
    is worked out from the warnings when first asked for, off the first-token path.
    """

    def __init__(
        self,
        json_schema: JsonSchema,
        normalized: Normalized,
        key: str,
        validate: Callable[[str], Any],
        target: Any,
    ) -> None:
        self.json_schema = json_schema  # the schema as the user wrote it (for prompts)
        self.key = key  # content hash of the schema: the cache key
        self.validate = validate  # returns the value, or schemas.Invalid
        self._normalized = normalized
        self._target = target
        self._first = LLMatcher.grammar_from_json_schema(
            normalized.schema, defaults=GRAMMAR_OPTIONS
        )
        self._choice: _Choice | None = None
        self._report: ConstraintReport | None = None
        self._lock = threading.Lock()
        self._grounded_grammars: OrderedDict[str, str] = OrderedDict()

    def __repr__(self) -> str:
        return f"<CompiledSchema {self.key[:12]}>"

    @property
    def grammar(self) -> str:
        """The llguidance grammar (JSON text) the engine accepts."""
        return self._chosen().grammar

    @property
    def report(self) -> ConstraintReport:
        """What the grammar enforces and what is validated after decoding."""
        choice = self._chosen()
        with self._lock:
            if self._report is None:
                self._report = self._report_for(choice)
            return self._report

    @functools.cached_property
    def grounded(self) -> bool:
        """Whether some string must be copied from the input (``extract.Quote``)."""
        return is_grounded(self._normalized.schema)

    def grounded_grammar(self, text: str) -> str:
        """The grammar whose grounded strings are substrings of ``text`` (the last few
        kept: retries and re-asks of one document reuse theirs)."""
        with self._lock:
            found = self._grounded_grammars.get(text)
            if found is not None:
                self._grounded_grammars.move_to_end(text)
                return found
        lark = grounded_lark(self._normalized.schema, text, GRAMMAR_OPTIONS)
        grammar = LLMatcher.grammar_from_lark(lark)
        with self._lock:
            self._grounded_grammars[text] = grammar
            while len(self._grounded_grammars) > 4:
                self._grounded_grammars.popitem(last=False)
        return grammar

    def matcher(self, tokenizer: Any, grounding: str | None = None) -> LLMatcher:
        """A fresh matcher for ``tokenizer``, the grammar compiled once by the engine;
        with ``grounding`` (the document), grounded strings are substrings of it."""
        if grounding is not None and self.grounded:
            grounded = LLMatcher(tokenizer, self.grounded_grammar(grounding), log_level=0)
            if not grounded.is_error():
                return grounded
            # The engine refused the grounded grammar: decode the plain one; the values
            # are then aligned to the text after decoding, as for a hosted model.
        if self._choice is None:
            matcher = LLMatcher(tokenizer, self._first, log_level=0)
            if not matcher.is_error():
                warnings = tuple(matcher.get_grammar_warnings())
                with self._lock:
                    if self._choice is None:
                        schema = self._normalized.schema
                        self._choice = _Choice(0, self._first, schema, warnings, ())
                return matcher
        matcher = LLMatcher(tokenizer, self.grammar, log_level=0)
        if matcher.is_error():  # pragma: no cover - the last rung is the empty schema
            raise RuntimeError(f"grammar rejected by the engine: {matcher.get_error()}")
        return matcher

    def _chosen(self) -> _Choice:
        with self._lock:
            if self._choice is None:
                self._choice = self._walk_ladder()
            return self._choice

    def _walk_ladder(self) -> _Choice:
        normalized = self._normalized
        notes: list[str] = []
        # Each step looser than the last; built only when the one before fails.
        ladder: list[Callable[[], JsonSchema]] = [
            lambda: normalized.schema,
            lambda: _without(normalized.schema, {"pattern", "format"}),
            lambda: _top_type_only(normalized.schema),
            dict,
        ]
        for step, (label, build) in enumerate(zip(_LADDER_LABELS, ladder, strict=True)):
            schema = build()
            try:
                grammar = (
                    self._first
                    if step == 0
                    else LLMatcher.grammar_from_json_schema(schema, defaults=GRAMMAR_OPTIONS)
                )
            except ValueError as exc:
                notes.append(f"grammar {label!r} rejected: {exc}")
                continue
            is_error, messages = LLMatcher.validate_grammar_with_warnings(grammar)
            if is_error:
                first = messages[0] if messages else "unknown error"
                notes.append(f"grammar {label!r} rejected: {first}")
                continue
            return _Choice(step, grammar, schema, tuple(messages), tuple(notes))
        raise AssertionError("the empty schema always compiles")  # pragma: no cover

    def _report_for(self, choice: _Choice) -> ConstraintReport:
        normalized = self._normalized
        messages = list(choice.warnings)
        enforced, after = _split(
            _constraints(normalized.schema), choice.schema, messages, choice.step
        )
        notes = [*normalized.notes, *choice.notes]
        notes.extend(
            m for m in messages if not _UNIMPLEMENTED.match(m) and not _UNKNOWN_FORMAT.match(m)
        )
        if choice.step > 0:
            loosened = _LADDER_LABELS[choice.step]
            notes.append(f"grammar loosened to {loosened!r}; the rest is checked after decoding")
        # Grounded strings: a substring of the document in the grammar made for it.
        enforced += [
            Constraint(c.path, c.keyword, "a substring of the input text")
            for c in constraints_in(normalized.schema, (GROUNDED,))
        ]
        report = ConstraintReport(
            enforced=tuple(enforced),
            validated_after=tuple([*normalized.dropped, *after]),
            degraded=choice.step > 0 or bool(normalized.dropped) or bool(after),
            notes=tuple(notes),
        )
        return _with_validators(report, self._target)


_LADDER_LABELS = (
    "as written",
    "without pattern and format",
    "top-level type only",
    "any JSON value",
)

_CACHE_SIZE = 1024
_cache: OrderedDict[tuple[str, Any], CompiledSchema] = OrderedDict()
_cache_lock = threading.Lock()


def compile_schema(target: Any) -> CompiledSchema:
    """Compile a Pydantic type, ``list[Model]`` or raw JSON Schema dict (cached by content).

    A type seen before is found by identity first: building its JSON Schema again to
    hash it costs about a millisecond, a hundred times the lookup.
    """
    by_type = _type_key(target)
    if by_type is not None:
        with _cache_lock:
            hit = _cache.get(by_type)
            if hit is not None:
                _cache.move_to_end(by_type)
                return hit
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
    compiled = CompiledSchema(schema, normalized, key, validator, target)
    with _cache_lock:
        _cache[cache_key] = compiled
        if by_type is not None:
            _cache[by_type] = compiled
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return compiled


def _type_key(target: Any) -> tuple[str, Any] | None:
    """The identity cache key of a type (``Model``, ``list[Model]``); None for a raw
    schema (its content may change between calls) or an unhashable annotation."""
    if isinstance(target, dict):
        return None
    try:
        hash(target)
    except TypeError:
        return None
    return ("type", target)


def clear_cache() -> None:
    """Forget every compiled schema (benchmarks measure cold compiles with this)."""
    with _cache_lock:
        _cache.clear()


def schema_key(schema: JsonSchema) -> str:
    """A content hash of a JSON Schema.

    Key order is content here: the grammar writes properties in the order the
    schema declares them, so two schemas differing only in that order differ.
    """
    text = json.dumps(schema, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _constraints(schema: JsonSchema) -> list[Constraint]:
    return constraints_in(schema, VALIDATION_KEYWORDS)


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
    stripped: JsonSchema = json_copy(schema)
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
