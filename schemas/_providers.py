"""JSON Schemas in the dialects of hosted LLM APIs, and their outputs mapped back.

A hosted API takes the schema of a tool (function) call instead of a grammar:

- ``openai_strict_schema``: OpenAI Structured Outputs strict mode. The API then
  enforces the schema while decoding, but only a subset of JSON Schema: every object
  closed with all properties required (optional ones become nullable), a few keywords.
  Keywords outside the subset move into the description and are validated after
  decoding; a schema that cannot be expressed falls back to a non-strict tool schema.
- ``tool_schema``: every other tool-calling API (Anthropic, non-strict OpenAI,
  OpenAI-compatible servers). The schema is sent as written; nothing is promised.

Both roots must be objects: anything else travels as ``{"value": <root>}``.
``ProviderSchema.restore`` maps an output back to the original form (unwrap, drop the
nulls that stand for omitted optional properties); ``encode`` goes the other way.
Neither function raises on any schema dict, nor mutates it.

The parts: ``_strict`` converts to strict mode's subset, ``_values`` walks values between
the two forms, ``_pointers`` resolves references and tells where ``null`` is allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._grounded import GROUNDED
from ._normalize import JsonSchema, constraints_in, json_copy, walk
from ._pointers import DEF_REF
from ._report import Constraint, ConstraintReport
from ._strict import NotStrict, StrictConverter, reported_constraints, value_wrapper
from ._values import ValueWalker


@dataclass(frozen=True)
class ProviderSchema:
    """A schema as one provider takes it, and the way between its values and the original."""

    parameters: JsonSchema  # object-rooted: the tool's parameters / input_schema
    strict: bool  # True: ``parameters`` is valid for OpenAI strict mode
    wrapped: bool  # the original root was not a plain object: sent as {"value": <root>}
    enforced: tuple[Constraint, ...]  # original constraints the provider enforces
    validated_after: tuple[Constraint, ...]  # the rest: validated after decoding
    notes: tuple[str, ...]
    original: JsonSchema = field(repr=False)  # a private copy of the schema as given
    _values: ValueWalker = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # One walker per schema: its validator is built once, on first need.
        object.__setattr__(self, "_values", ValueWalker(self.original))

    def encode(self, value: Any) -> Any:
        """A value valid for the original schema, in the provider's form.

        Wrapped when the root is; in strict mode every absent optional property is
        spelled ``null``, as a strict-mode output would have it (few-shot examples).
        """
        if self.strict:
            value = _guarded(lambda: self._values.encoded(value), value)
        return {"value": value} if self.wrapped else value

    def restore(self, value: Any) -> Any:
        """Provider output (parsed JSON) -> the original form, for validation.

        Unwraps, and drops the nulls standing for omitted optional properties that
        the original schema does not allow to be null. Anything unexpected is left
        as it is for the validator to report.
        """
        if self.wrapped:
            if not isinstance(value, dict) or "value" not in value:
                return value
            value = value["value"]
        return _guarded(lambda: self._values.restored(value), value)

    def report(self, provider: str) -> ConstraintReport:
        """What ``provider`` enforces while decoding and what is checked afterwards."""
        if self.strict:
            summary = (
                f"{provider} strict mode enforces {len(self.enforced)} constraints; "
                f"{len(self.validated_after)} are validated after decoding"
            )
        else:
            summary = (
                f"{provider} does not enforce the schema; everything is validated after decoding"
            )
        # A provider never sees the document's words as a constraint: grounded strings
        # are aligned to the text after decoding.
        grounded = tuple(
            Constraint(c.path, c.keyword, "aligned to the input text")
            for c in constraints_in(self.original, (GROUNDED,))
        )
        return ConstraintReport(
            enforced=self.enforced,
            validated_after=(*self.validated_after, *grounded),
            degraded=bool(self.validated_after),
            notes=(*self.notes, summary),
        )


def openai_strict_schema(schema: JsonSchema) -> ProviderSchema:
    """``schema`` for OpenAI strict mode, or a non-strict tool schema saying why not."""
    original = _private_copy(schema)
    if not isinstance(original, dict):
        return _not_strict(schema, "the schema is not a JSON object")
    wrapped = not _is_plain_object(original)
    converter = StrictConverter(original)
    try:
        parameters = converter.parameters(wrapped)
    except NotStrict as exc:
        return _not_strict(original, str(exc))
    except RecursionError:
        return _not_strict(original, "the schema nests too deeply")
    enforced, after = converter.split(reported_constraints(original))
    return ProviderSchema(
        parameters=parameters,
        strict=True,
        wrapped=wrapped,
        enforced=tuple(enforced),
        validated_after=tuple(after),
        notes=tuple(_wrap_notes(wrapped) + converter.notes()),
        original=original,
    )


def tool_schema(schema: JsonSchema) -> ProviderSchema:
    """``schema`` as a plain tool schema: every keyword kept, nothing enforced."""
    original = _private_copy(schema)
    if original is _NOT_JSON:
        return _any_value("the schema is not JSON data")
    parameters, wrapped = _object_rooted(_said_in_words(original))
    return ProviderSchema(
        parameters=parameters,
        strict=False,
        wrapped=wrapped,
        enforced=(),
        validated_after=tuple(reported_constraints(original)),
        notes=tuple(_wrap_notes(wrapped)),
        original=original,
    )


def _said_in_words(schema: Any) -> Any:
    """A copy whose grounded strings carry their rule as a description instead of the
    ``x-grounded`` keyword, which providers do not know (some reject unknown keys)."""
    copy = json_copy(schema)
    for _, node in walk(copy):
        if node.pop(GROUNDED, None) is not None:
            said = "copied exactly as written in the text"
            node["description"] = (
                f"{node['description']} ({said})" if "description" in node else said
            )
    return copy


def _not_strict(schema: Any, reason: str) -> ProviderSchema:
    plain = tool_schema(schema)
    note = f"not strict: {reason}; everything is validated after decoding"
    return ProviderSchema(
        parameters=plain.parameters,
        strict=False,
        wrapped=plain.wrapped,
        enforced=(),
        validated_after=plain.validated_after,
        notes=(note, *plain.notes),
        original=plain.original,
    )


_NOT_JSON = object()


def _private_copy(schema: Any) -> Any:
    """A copy the caller cannot change under us, or ``_NOT_JSON``."""
    try:
        return json_copy(schema)
    except (TypeError, ValueError, RecursionError):  # a set, a cycle, a custom object...
        return _NOT_JSON


def _any_value(reason: str) -> ProviderSchema:
    """The last resort: ask for any value, validate everything afterwards."""
    return ProviderSchema(
        parameters=value_wrapper({}),
        strict=False,
        wrapped=True,
        enforced=(),
        validated_after=(),
        notes=(f"{reason}: sent as any value",),
        original={},
    )


def _guarded(step: Callable[[], Any], fallback: Any) -> Any:
    try:
        return step()
    except RecursionError:  # a value nested deeper than Python recurses
        return fallback


def _wrap_notes(wrapped: bool) -> list[str]:
    return ['the root is not a plain object: sent as {"value": <root>}'] if wrapped else []


def _is_plain_object(root: JsonSchema) -> bool:
    """An object schema a provider takes as the root: no union, no reference."""
    if any(k in root for k in ("anyOf", "oneOf", "allOf", "$ref", "enum", "const")):
        return False
    kind = root.get("type", "object" if "properties" in root else None)
    closed_empty = root.get("additionalProperties") is False
    return kind == "object" and (isinstance(root.get("properties"), dict) or closed_empty)


def _object_rooted(original: Any) -> tuple[JsonSchema, bool]:
    """The schema itself when its root is an object, else ``{"value": <root>}``."""
    if isinstance(original, dict) and original.get("type") == "object":
        return json_copy(original), False
    hoisted = ("$defs", "definitions", "$schema", "$id")
    inner: Any = original
    outer: JsonSchema = {}
    if isinstance(original, dict):
        inner = {k: v for k, v in original.items() if k not in hoisted}
        outer = {k: original[k] for k in hoisted if k in original}
    wrapper = value_wrapper(json_copy(inner))
    wrapper.update(json_copy(outer))
    _point_into_value(wrapper)
    return wrapper, True


def _point_into_value(wrapper: JsonSchema) -> None:
    """Local references into the old root now go through ``/properties/value``."""
    for _, node in walk(wrapper):
        ref = node.get("$ref")
        if not isinstance(ref, str) or DEF_REF.match(ref):  # definitions move with the root
            continue
        if ref == "#" or ref.startswith("#/"):
            node["$ref"] = "#/properties/value" + ref[1:]
