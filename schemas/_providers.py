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
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import jsonschema
from jsonschema.validators import validator_for

from ._normalize import VALIDATION_KEYWORDS, JsonSchema, constraints_in, json_copy, walk
from ._report import Constraint, ConstraintReport

# The formats OpenAI strict mode accepts; any other is validated after decoding.
STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
# Every keyword a strict-mode schema may hold.
STRICT_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "$ref",
        "$defs",
        "definitions",
        "description",
        "title",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    }
)
JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})

# Keywords whose loss would change the shape of values too much to validate afterwards.
_INEXPRESSIBLE = ("allOf", "not", "if", "then", "else", "$dynamicRef", "$recursiveRef")
# Keywords strict mode lacks: removing them only loosens the schema, so they are
# described to the model and validated after decoding.
_RELAXED = frozenset(
    {
        "minLength",
        "maxLength",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "patternProperties",
        "propertyNames",
        "dependentRequired",
        "dependentSchemas",
        "dependencies",
        "contains",
        "minContains",
        "maxContains",
        "unevaluatedProperties",
        "unevaluatedItems",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
        "default",
        "examples",
    }
)
# Constraint keywords listed in reports: the compiler's plus the older or rarer ones.
_CONSTRAINT_KEYWORDS = (
    *VALIDATION_KEYWORDS,
    "additionalItems",
    "minContains",
    "maxContains",
    "dependencies",
    "unevaluatedProperties",
    "unevaluatedItems",
)
_NUMBER_BOUNDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_COUNTS = frozenset({"minItems", "maxItems"})
_ANNOTATIONS = frozenset({"description", "title"})
# Keywords that never change which values are valid here.
_BESIDE_ANYTHING = frozenset({"$schema", "$id", "$comment", "$defs", "definitions"})
# Key order of a converted node, for people reading the request.
_ORDER = (
    "type",
    "title",
    "description",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "anyOf",
    "$ref",
    "enum",
    "const",
    "pattern",
    "format",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
)
_DEF_REF = re.compile(r"#/(\$defs|definitions)/([^/]+)")
_MAX_DEPTH = 64  # how deep value walks follow a schema; deeper values are left as they are
_SHORT = 80  # longest rendering of a moved keyword's value in a description


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
    _values: _Values = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # One walker per schema: its validator is built once, on first need.
        object.__setattr__(self, "_values", _Values(self.original))

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
        return ConstraintReport(
            enforced=self.enforced,
            validated_after=self.validated_after,
            degraded=bool(self.validated_after),
            notes=(*self.notes, summary),
        )


def openai_strict_schema(schema: JsonSchema) -> ProviderSchema:
    """``schema`` for OpenAI strict mode, or a non-strict tool schema saying why not."""
    original = _private_copy(schema)
    if not isinstance(original, dict):
        return _not_strict(schema, "the schema is not a JSON object")
    wrapped = not _is_plain_object(original)
    converter = _StrictConverter(original)
    try:
        parameters = converter.parameters(wrapped)
    except _NotStrict as exc:
        return _not_strict(original, str(exc))
    except RecursionError:
        return _not_strict(original, "the schema nests too deeply")
    enforced, after = converter.split(_constraints(original))
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
    parameters, wrapped = _object_rooted(original)
    return ProviderSchema(
        parameters=parameters,
        strict=False,
        wrapped=wrapped,
        enforced=(),
        validated_after=tuple(_constraints(original)),
        notes=tuple(_wrap_notes(wrapped)),
        original=original,
    )


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
        parameters=_value_wrapper({}),
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
    wrapper = _value_wrapper(json_copy(inner))
    wrapper.update(json_copy(outer))
    _point_into_value(wrapper)
    return wrapper, True


def _value_wrapper(inner: Any) -> JsonSchema:
    return {
        "type": "object",
        "properties": {"value": inner},
        "required": ["value"],
        "additionalProperties": False,
    }


def _point_into_value(wrapper: JsonSchema) -> None:
    """Local references into the old root now go through ``/properties/value``."""
    for _, node in walk(wrapper):
        ref = node.get("$ref")
        if not isinstance(ref, str) or _DEF_REF.match(ref):  # definitions move with the root
            continue
        if ref == "#" or ref.startswith("#/"):
            node["$ref"] = "#/properties/value" + ref[1:]


def _constraints(schema: Any) -> list[Constraint]:
    return constraints_in(schema, _CONSTRAINT_KEYWORDS)


class _NotStrict(Exception):
    """Strict mode cannot express the node at ``path``."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path or '/'}: {reason}")


class _StrictConverter:
    """Builds the strict-mode form of one schema, recording what it had to change.

    Definitions are converted on first reference, so unused ones cannot spoil the
    result. Paths in the records are those of the original schema.
    """

    def __init__(self, original: JsonSchema) -> None:
        self.original = original
        self.defs: dict[str, JsonSchema] = {"$defs": {}, "definitions": {}}
        self.hoisted: dict[str, str] = {}  # other local pointer -> its name in $defs
        self.moved: dict[tuple[str, str], str] = {}  # (path, keyword) -> its value, short
        self.closed: list[str] = []  # objects that allowed extra keys
        self.typed: list[str] = []  # objects without "type"
        self.nullable: list[str] = []  # optional properties now required and nullable

    def parameters(self, wrapped: bool) -> JsonSchema:
        root = self.node(self.original, "")
        parameters = _value_wrapper(root) if wrapped else root
        for container, defs in self.defs.items():
            if defs:
                parameters[container] = defs
        return parameters

    def notes(self) -> list[str]:
        # A node reached twice (the root as "#" and as the root) is listed once.
        closed, typed, nullable = (
            list(dict.fromkeys(paths)) for paths in (self.closed, self.typed, self.nullable)
        )
        found = []
        if closed:
            found.append(
                f"{_count(closed, 'open object')} closed (strict mode allows no "
                f"extra keys): {_listing(closed)}"
            )
        if typed:
            found.append(
                f"{_count(typed, 'object')} without a type sent as objects: {_listing(typed)}"
            )
        if nullable:
            found.append(
                f"{_count(nullable, 'optional property', 'optional properties')} sent as "
                f"required and nullable; restore() drops their nulls: {_listing(nullable)}"
            )
        return found

    def split(self, constraints: list[Constraint]) -> tuple[list[Constraint], list[Constraint]]:
        """The original constraints strict mode enforces, and those validated after."""
        relaxed = [f"{path}/{keyword}" for path, keyword in self.moved]
        enforced, after = [], []
        for c in constraints:
            if (c.path, c.keyword) in self.moved:
                after.append(Constraint(c.path, c.keyword, self.moved[c.path, c.keyword]))
            elif any(c.path == p or c.path.startswith(p + "/") for p in relaxed):
                after.append(Constraint(c.path, c.keyword, "inside a relaxed keyword"))
            elif c.keyword == "oneOf":
                enforced.append(Constraint(c.path, "anyOf", "the oneOf branches, as anyOf"))
                after.append(Constraint(c.path, "oneOf", "exactly one branch"))
            else:
                enforced.append(c)
        return enforced, after

    def node(self, schema: Any, path: str) -> JsonSchema:
        """The strict-mode form of one (sub)schema."""
        if not isinstance(schema, dict):
            what = "a true/false schema" if isinstance(schema, bool) else "not a schema"
            raise _NotStrict(path, what)
        self._refuse_inexpressible(schema, path)
        out: JsonSchema = {}
        extras: list[str] = []  # moved keywords, described to the model
        self._simple_keywords(schema, path, out, extras)
        self._reference(schema, path, out)
        self._alternatives(schema, path, out)
        self._object(schema, path, out)
        self._array(schema, path, out, extras)
        self._type(schema, path, out)
        self._relax_beside_references(path, out, extras)
        _describe(schema, out, extras)
        self._refuse_crowded(out, path)
        return {k: out[k] for k in _ORDER if k in out}

    def _refuse_inexpressible(self, schema: JsonSchema, path: str) -> None:
        for keyword in _INEXPRESSIBLE:
            if keyword in schema and not (keyword == "allOf" and _single_all_of(schema)):
                raise _NotStrict(path, f"{keyword} has no strict-mode equivalent")

    def _simple_keywords(
        self, schema: JsonSchema, path: str, out: JsonSchema, extras: list[str]
    ) -> None:
        """Keep the supported value keywords, move the unsupported ones."""
        for keyword, value in schema.items():
            if keyword in _CHECKS:
                if _CHECKS[keyword](value):
                    out[keyword] = value
                else:
                    self._move(path, keyword, value, extras)
            elif keyword == "default" and value is None:
                continue  # says nothing a nullable property does not
            elif keyword in _RELAXED:
                self._move(path, keyword, value, extras)
            elif keyword == "enum":
                out["enum"] = self._enum(value, path)
            elif keyword == "const":
                out["const"] = _scalar_or_refuse(value, path, "const")
            # Anything else is structure handled below, an annotation strict mode does
            # not take ($schema, $comment, deprecated...) or a vendor extension.

    def _move(self, path: str, keyword: str, value: Any, extras: list[str]) -> None:
        text = _short(value)
        extras.append(f"{keyword}: {text}")
        if keyword in _CONSTRAINT_KEYWORDS:
            self.moved[path, keyword] = text

    def _enum(self, values: Any, path: str) -> list[Any]:
        if not isinstance(values, list) or not values:
            raise _NotStrict(path, "enum is not a non-empty list")
        return [_scalar_or_refuse(v, path, "enum") for v in values]

    def _reference(self, schema: JsonSchema, path: str, out: JsonSchema) -> None:
        if "$ref" not in schema:
            return
        ref = schema["$ref"]
        if not isinstance(ref, str):
            raise _NotStrict(path, "$ref is not a string")
        out["$ref"] = self._target(ref, path)

    def _target(self, ref: str, path: str) -> str:
        """The reference in the result; its target is converted on first use."""
        if ref != "#" and not ref.startswith("#/"):
            raise _NotStrict(path, f"$ref {ref!r} is not local (#/...)")
        match = _DEF_REF.fullmatch(ref)
        if match:
            container, name = match.group(1), _unescape(match.group(2))
            defs = self.original.get(container)
            target = defs.get(name) if isinstance(defs, dict) else None
            self._convert_definition(container, name, target, f"/{container}/{name}", ref)
            return ref
        if ref not in self.hoisted:
            # A pointer elsewhere (the root, a property...): its target becomes a
            # definition, since the root may be wrapped and nodes are rewritten.
            self.hoisted[ref] = name = self._free_name(ref)
            target = _resolve_pointer(self.original, ref)
            self._convert_definition("$defs", name, target, _pointer_path(ref), ref)
        return f"#/$defs/{self.hoisted[ref]}"

    def _convert_definition(
        self, container: str, name: str, target: Any, path: str, ref: str
    ) -> None:
        if name in self.defs[container]:
            return
        if target is None:
            raise _NotStrict(path, f"$ref {ref!r} does not resolve")
        self.defs[container][name] = {}  # placeholder: a recursive reference stops here
        self.defs[container][name] = self.node(target, path)

    def _free_name(self, ref: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", ref[2:]).strip("_") or "root"
        defs = self.original.get("$defs")
        taken = set(defs) if isinstance(defs, dict) else set()
        taken |= set(self.defs["$defs"])
        name = base
        while name in taken:
            name += "_"
        return name

    def _alternatives(self, schema: JsonSchema, path: str, out: JsonSchema) -> None:
        """anyOf as it is; oneOf and a single-branch allOf become anyOf."""
        present = [k for k in ("anyOf", "oneOf", "allOf") if k in schema]
        if not present:
            return
        if len(present) > 1:
            raise _NotStrict(path, f"{' beside '.join(present)} has no strict-mode equivalent")
        keyword = present[0]
        branches = schema[keyword]
        if not isinstance(branches, list) or not branches:
            raise _NotStrict(path, f"{keyword} is not a non-empty list")
        out["anyOf"] = [self.node(b, f"{path}/{keyword}/{i}") for i, b in enumerate(branches)]

    def _object(self, schema: JsonSchema, path: str, out: JsonSchema) -> None:
        """Close the object and require every property, optional ones nullable."""
        if "properties" not in schema and "object" not in _types(schema):
            return
        properties = schema.get("properties", {})
        if not isinstance(properties, dict):
            raise _NotStrict(path, "properties is not an object")
        self._close(schema, path)
        required = schema.get("required", [])
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise _NotStrict(path, "required is not a list of names")
        unknown = [r for r in required if r not in properties]
        if unknown:
            raise _NotStrict(path, f"requires {unknown}, which properties does not describe")
        converted = {}
        for name, sub in properties.items():
            converted[name] = self.node(sub, f"{path}/properties/{name}")
            if name not in required and not _admits_null(converted[name]):
                converted[name] = _nullable(converted[name])
                self.nullable.append(f"{path}/properties/{name}")
        out["properties"] = converted
        out["required"] = list(converted)
        out["additionalProperties"] = False

    def _close(self, schema: JsonSchema, path: str) -> None:
        if "properties" not in schema and "patternProperties" in schema:
            raise _NotStrict(path, "an open map (no properties; keys by patternProperties)")
        extra = schema.get("additionalProperties", True)
        if extra is False:
            return
        if "properties" not in schema:
            raise _NotStrict(path, "an open map (no properties; extra keys allowed)")
        if extra is not True and extra != {}:
            raise _NotStrict(path, "a map: extra keys with their own schema")
        self.closed.append(path or "/")

    def _array(self, schema: JsonSchema, path: str, out: JsonSchema, extras: list[str]) -> None:
        items = schema.get("items")
        if isinstance(items, list):  # drafts 4 to 2019-09 spell tuples this way
            self._tuple(schema, path, out, ("items", "additionalItems"), extras)
        elif "prefixItems" in schema:
            self._tuple(schema, path, out, ("prefixItems", "items"), extras)
        elif "items" in schema:
            out["items"] = self.node(items, f"{path}/items")
        elif "array" in _types(schema):
            raise _NotStrict(path, "array items accept any value")

    def _tuple(
        self,
        schema: JsonSchema,
        path: str,
        out: JsonSchema,
        keywords: tuple[str, str],
        extras: list[str],
    ) -> None:
        """Strict mode has no tuples: each element matches one of the tuple's schemas."""
        positional, rest = keywords
        prefix = schema[positional]
        if not isinstance(prefix, list) or not prefix:
            raise _NotStrict(path, f"{positional} is not a non-empty list")
        branches = [self.node(s, f"{path}/{positional}/{i}") for i, s in enumerate(prefix)]
        tail = schema.get(rest, True)
        if tail is not True and tail != {} and tail is not False:
            branches.append(self.node(tail, f"{path}/{rest}"))
        elif tail is not False and not _bounded_by(schema.get("maxItems"), len(prefix)):
            raise _NotStrict(path, f"array items after {positional} accept any value")
        unique = list({json.dumps(b, sort_keys=True): b for b in branches}.values())
        out["items"] = unique[0] if len(unique) == 1 else {"anyOf": unique}
        self._move(path, positional, prefix, extras)

    def _type(self, schema: JsonSchema, path: str, out: JsonSchema) -> None:
        if "type" in schema:
            kind = schema["type"]
            names = [kind] if isinstance(kind, str) else kind
            if not isinstance(names, list) or not names or not all(map(_is_type_name, names)):
                raise _NotStrict(path, f"type {_short(kind)} is not a JSON type")
            out["type"] = kind
        elif "$ref" in out or "anyOf" in out:
            return
        elif "enum" in out or "const" in out:
            values = out["enum"] if "enum" in out else [out["const"]]
            out["type"] = _type_of_values(values)
        elif isinstance(schema.get("properties"), dict):
            out["type"] = "object"
            self.typed.append(path or "/")
        else:
            raise _NotStrict(path, "accepts any value (no type)")

    def _relax_beside_references(self, path: str, out: JsonSchema, extras: list[str]) -> None:
        """Value bounds beside $ref or anyOf (``maxItems`` on a referenced array...)
        have nowhere to go in strict mode: they are validated after decoding."""
        if "$ref" in out or "anyOf" in out:
            for keyword in [k for k in out if k in _CHECKS]:
                self._move(path, keyword, out.pop(keyword), extras)

    def _refuse_crowded(self, out: JsonSchema, path: str) -> None:
        """$ref and anyOf take only a title and a description beside them."""
        for keyword in ("$ref", "anyOf"):
            others = set(out) - {keyword} - _ANNOTATIONS
            if keyword in out and others:
                raise _NotStrict(path, f"{keyword} beside {', '.join(sorted(others))}")
        if "$ref" in out and len(out) > 1:
            # Strict mode takes a bare reference only: a described one goes inside an anyOf.
            out["anyOf"] = [{"$ref": out.pop("$ref")}]


def _is_type_name(value: Any) -> bool:
    return isinstance(value, str) and value in JSON_TYPES


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _compiles(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FutureWarning on "[[" and the like
            re.compile(value)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


# Supported keywords kept when their value has the form strict mode takes.
_CHECKS: dict[str, Callable[[Any], bool]] = {
    "pattern": _compiles,
    "format": lambda v: isinstance(v, str) and v in STRICT_FORMATS,
    "multipleOf": lambda v: _is_number(v) and v > 0,
    **{k: _is_number for k in _NUMBER_BOUNDS},
    **{k: _is_count for k in _COUNTS},
}


def _single_all_of(schema: JsonSchema) -> bool:
    """``allOf: [X]`` with only annotations beside it: exactly ``anyOf: [X]``."""
    branches = schema.get("allOf")
    others = set(schema) - {"allOf"} - _ANNOTATIONS - _RELAXED - _BESIDE_ANYTHING
    return isinstance(branches, list) and len(branches) == 1 and not others


def _scalar_or_refuse(value: Any, path: str, keyword: str) -> Any:
    if isinstance(value, (dict, list)):
        raise _NotStrict(path, f"{keyword} holds an object or an array")
    return value


def _type_of_values(values: list[Any]) -> str | list[str]:
    names: list[str] = []
    for value in values:
        name = _json_type(value)
        if name not in names:
            names.append(name)
    return names[0] if len(names) == 1 else names


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _types(schema: JsonSchema) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return [kind]
    return [k for k in kind if isinstance(k, str)] if isinstance(kind, list) else []


def _bounded_by(max_items: Any, length: int) -> bool:
    return _is_count(max_items) and max_items <= length


def _describe(schema: JsonSchema, out: JsonSchema, extras: list[str]) -> None:
    """Keep title and description; append the moved keywords to the description."""
    title, description = schema.get("title"), schema.get("description")
    if isinstance(title, str):
        out["title"] = title
    text = description if isinstance(description, str) else ""
    if extras:
        moved = "; ".join(extras)
        text = f"{text} ({moved})" if text else moved
    if text:
        out["description"] = text


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"


def _count(items: list[str], one: str, many: str | None = None) -> str:
    return f"1 {one}" if len(items) == 1 else f"{len(items)} {many or one + 's'}"


def _listing(paths: list[str], limit: int = 5) -> str:
    shown = ", ".join(paths[:limit])
    return shown if len(paths) <= limit else f"{shown}, ..."


def _nullable(schema: JsonSchema) -> JsonSchema:
    """``schema`` or null; its title and description stay on the outside, for readers."""
    annotations: JsonSchema = {k: schema[k] for k in ("title", "description") if k in schema}
    inner = {k: v for k, v in schema.items() if k not in annotations}
    branches = inner["anyOf"] if set(inner) == {"anyOf"} else [inner]
    return {**annotations, "anyOf": [*branches, {"type": "null"}]}


def _admits_null(schema: Any, root: Any = None, depth: int = 0) -> bool:
    """Whether ``null`` may be valid here; ``True`` when unsure.

    References are followed in ``root``; without one a reference counts as
    not admitting null (a converted schema then gets a redundant null branch).
    """
    if depth > _MAX_DEPTH or schema is True:
        return True
    if not isinstance(schema, dict):
        return schema is not False
    verdicts = [_null_by_type(schema), _null_by_values(schema)]
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = _resolve_pointer(root, ref) if root is not None else False
        verdicts.append(target is None or _admits_null(target, root, depth + 1))
    for keyword in ("anyOf", "oneOf"):
        branches = schema.get(keyword)
        if isinstance(branches, list):
            verdicts.append(any(_admits_null(b, root, depth + 1) for b in branches))
    branches = schema.get("allOf")
    if isinstance(branches, list):
        verdicts.append(all(_admits_null(b, root, depth + 1) for b in branches))
    return all(verdicts)


def _null_by_type(schema: JsonSchema) -> bool:
    kind = schema.get("type")
    if isinstance(kind, str):
        return kind == "null"
    return "null" in kind if isinstance(kind, list) else True


def _null_by_values(schema: JsonSchema) -> bool:
    if "const" in schema and schema["const"] is not None:
        return False
    values = schema.get("enum")
    return not isinstance(values, list) or any(v is None for v in values)


def _unescape(token: str) -> str:
    return unquote(token).replace("~1", "/").replace("~0", "~")


def _pointer_path(ref: str) -> str:
    """``#/a/b`` -> ``/a/b``, the path form ``walk`` reports."""
    return "/".join(_unescape(t) for t in ref[1:].split("/")) if ref != "#" else ""


def _resolve_pointer(root: Any, ref: str) -> Any:
    """The node a local reference points at, or ``None``."""
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return None
    node = root
    for token in ref[2:].split("/"):
        name = _unescape(token)
        if isinstance(node, dict) and name in node:
            node = node[name]
        elif isinstance(node, list) and name.isdigit() and int(name) < len(node):
            node = node[int(name)]
        else:
            return None
    return node


class _Values:
    """Walks a value alongside the original schema (local references resolved)."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self._validator: Any = None

    def restored(self, value: Any) -> Any:
        """Drop nulls of optional properties whose schema does not admit null."""
        return self._without_nulls(value, self.root, 0)

    def encoded(self, value: Any) -> Any:
        """Spell every absent optional property ``null``, as strict-mode outputs do."""
        return self._with_nulls(value, self.root, 0)

    def _without_nulls(self, value: Any, schema: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            return value
        if isinstance(value, list):
            return [
                self._without_nulls(item, self._element(schema, value, i), depth + 1)
                for i, item in enumerate(value)
            ]
        if not isinstance(value, dict):
            return value
        fitting = self._fitting_objects(schema, value)
        # Several branches fit the keys: the first one the result is valid for.
        for node in fitting:
            result = self._object_without_nulls(value, node, depth)
            if len(fitting) == 1 or self._is_valid(result, node):
                return result
        return self._object_without_nulls(value, fitting[0], depth) if fitting else value

    def _object_without_nulls(self, value: JsonSchema, node: JsonSchema, depth: int) -> Any:
        properties, required = node["properties"], _required(node)
        out = {}
        for key, item in value.items():
            if key not in properties:
                out[key] = item
            elif item is None and key not in required and not self._admits_null(properties[key]):
                continue
            else:
                out[key] = self._without_nulls(item, properties[key], depth + 1)
        return out

    def _with_nulls(self, value: Any, schema: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            return value
        if isinstance(value, list):
            return [
                self._with_nulls(item, self._element(schema, value, i), depth + 1)
                for i, item in enumerate(value)
            ]
        if not isinstance(value, dict):
            return value
        node = self._valid_object(schema, value)
        if node is None:
            return value
        properties, required = node["properties"], _required(node)
        out = {}
        for name, sub in properties.items():
            if name in value:
                out[name] = self._with_nulls(value[name], sub, depth + 1)
            elif name not in required:
                out[name] = None
        out.update((k, v) for k, v in value.items() if k not in properties)
        return out

    def _alternatives(self, schema: Any, depth: int = 0) -> list[JsonSchema]:
        """The node itself (references followed) and its anyOf/oneOf branches, flattened."""
        schema = self._resolved(schema)
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return []
        found = [schema]
        for keyword in ("anyOf", "oneOf", "allOf"):
            branches = schema.get(keyword)
            if isinstance(branches, list) and (keyword != "allOf" or len(branches) == 1):
                for branch in branches:
                    found.extend(self._alternatives(branch, depth + 1))
        return found

    def _resolved(self, schema: Any) -> Any:
        """Follow a reference chain (a node with its own properties or items stays)."""
        for _ in range(_MAX_DEPTH):
            ref = schema.get("$ref") if isinstance(schema, dict) else None
            if not isinstance(ref, str) or "properties" in schema or "items" in schema:
                return schema
            schema = _resolve_pointer(self.root, ref)
        return None

    def _objects(self, schema: Any) -> list[JsonSchema]:
        return [n for n in self._alternatives(schema) if isinstance(n.get("properties"), dict)]

    def _fitting_objects(self, schema: Any, value: JsonSchema) -> list[JsonSchema]:
        """The object branches whose properties name every key of ``value``.

        A lone object schema fits whatever the keys: extra keys are the validator's.
        """
        objects = self._objects(schema)
        if len(objects) <= 1:
            return objects
        return [n for n in objects if set(value) <= set(n["properties"])]

    def _valid_object(self, schema: Any, value: JsonSchema) -> JsonSchema | None:
        """The first object branch ``value`` is valid for (by its keys if none is)."""
        objects = self._objects(schema)
        if len(objects) <= 1:
            return objects[0] if objects else None
        for node in objects:
            if self._is_valid(value, node):
                return node
        fitting = self._fitting_objects(schema, value)
        return fitting[0] if fitting else None

    def _element(self, schema: Any, value: list[Any], index: int) -> Any:
        """The schema of ``value[index]``, from the first array branch ``value`` is valid for."""
        arrays = [n for n in self._alternatives(schema) if "items" in n or "prefixItems" in n]
        if not arrays:
            return True
        node = next((n for n in arrays if self._is_valid(value, n)), arrays[0])
        prefix, rest = node.get("prefixItems"), node.get("items", True)
        if isinstance(rest, list):  # the tuples of drafts before 2020-12
            prefix, rest = rest, node.get("additionalItems", True)
        if isinstance(prefix, list) and index < len(prefix):
            return prefix[index]
        return rest

    def _admits_null(self, schema: Any) -> bool:
        return _admits_null(schema, self.root)

    def _is_valid(self, value: Any, schema: Any) -> bool:
        """Validity against a sub-schema, references resolved in the root."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # an unknown $schema: a draft is assumed
                if self._validator is None:
                    cls = validator_for(self.root, default=jsonschema.Draft202012Validator)
                    self._validator = cls(self.root)
                return bool(self._validator.evolve(schema=schema).is_valid(value))
        except Exception:  # an unusable schema (a bad regex...) decides nothing
            return False


def _required(node: JsonSchema) -> set[str]:
    required = node.get("required")
    return {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()
