"""OpenAI strict mode: the converter from a JSON Schema to the subset strict mode takes.

Keywords outside the subset move into descriptions and are validated after decoding;
a schema that cannot be expressed raises ``NotStrict`` and falls back to a plain tool
schema (``_providers.openai_strict_schema``).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from typing import Any

from ._normalize import VALIDATION_KEYWORDS, JsonSchema, constraints_in
from ._pointers import DEF_REF, admits_null, pointer_path, resolve_pointer, unescape
from ._report import Constraint

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
_SHORT = 80  # longest rendering of a moved keyword's value in a description


def value_wrapper(inner: Any) -> JsonSchema:
    return {
        "type": "object",
        "properties": {"value": inner},
        "required": ["value"],
        "additionalProperties": False,
    }


def reported_constraints(schema: Any) -> list[Constraint]:
    return constraints_in(schema, _CONSTRAINT_KEYWORDS)


class NotStrict(Exception):
    """Strict mode cannot express the node at ``path``."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path or '/'}: {reason}")


class StrictConverter:
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
        parameters = value_wrapper(root) if wrapped else root
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
            raise NotStrict(path, what)
        self._refuse_inexpressible(schema, path)
        out: JsonSchema = {}
        extras: list[str] = []  # moved keywords, described to the model
        self._simple_keywords(schema, path, out, extras)
        self._reference(schema, path, out)
        self._convert_alternatives(schema, path, out)
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
                raise NotStrict(path, f"{keyword} has no strict-mode equivalent")

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
            raise NotStrict(path, "enum is not a non-empty list")
        return [_scalar_or_refuse(v, path, "enum") for v in values]

    def _reference(self, schema: JsonSchema, path: str, out: JsonSchema) -> None:
        if "$ref" not in schema:
            return
        ref = schema["$ref"]
        if not isinstance(ref, str):
            raise NotStrict(path, "$ref is not a string")
        out["$ref"] = self._target(ref, path)

    def _target(self, ref: str, path: str) -> str:
        """The reference in the result; its target is converted on first use."""
        if ref != "#" and not ref.startswith("#/"):
            raise NotStrict(path, f"$ref {ref!r} is not local (#/...)")
        match = DEF_REF.fullmatch(ref)
        if match:
            container, name = match.group(1), unescape(match.group(2))
            defs = self.original.get(container)
            target = defs.get(name) if isinstance(defs, dict) else None
            self._convert_definition(container, name, target, f"/{container}/{name}", ref)
            return ref
        if ref not in self.hoisted:
            # A pointer elsewhere (the root, a property...): its target becomes a
            # definition, since the root may be wrapped and nodes are rewritten.
            self.hoisted[ref] = name = self._free_name(ref)
            target = resolve_pointer(self.original, ref)
            self._convert_definition("$defs", name, target, pointer_path(ref), ref)
        return f"#/$defs/{self.hoisted[ref]}"

    def _convert_definition(
        self, container: str, name: str, target: Any, path: str, ref: str
    ) -> None:
        if name in self.defs[container]:
            return
        if target is None:
            raise NotStrict(path, f"$ref {ref!r} does not resolve")
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

    def _convert_alternatives(self, schema: JsonSchema, path: str, out: JsonSchema) -> None:
        """anyOf as it is; oneOf and a single-branch allOf become anyOf."""
        present = [k for k in ("anyOf", "oneOf", "allOf") if k in schema]
        if not present:
            return
        if len(present) > 1:
            raise NotStrict(path, f"{' beside '.join(present)} has no strict-mode equivalent")
        keyword = present[0]
        branches = schema[keyword]
        if not isinstance(branches, list) or not branches:
            raise NotStrict(path, f"{keyword} is not a non-empty list")
        out["anyOf"] = [self.node(b, f"{path}/{keyword}/{i}") for i, b in enumerate(branches)]

    def _object(self, schema: JsonSchema, path: str, out: JsonSchema) -> None:
        """Close the object and require every property, optional ones nullable."""
        if "properties" not in schema and "object" not in _types(schema):
            return
        properties = schema.get("properties", {})
        if not isinstance(properties, dict):
            raise NotStrict(path, "properties is not an object")
        self._close(schema, path)
        required = schema.get("required", [])
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise NotStrict(path, "required is not a list of names")
        unknown = [r for r in required if r not in properties]
        if unknown:
            raise NotStrict(path, f"requires {unknown}, which properties does not describe")
        converted = {}
        for name, sub in properties.items():
            converted[name] = self.node(sub, f"{path}/properties/{name}")
            if name not in required and not admits_null(converted[name]):
                converted[name] = _nullable(converted[name])
                self.nullable.append(f"{path}/properties/{name}")
        out["properties"] = converted
        out["required"] = list(converted)
        out["additionalProperties"] = False

    def _close(self, schema: JsonSchema, path: str) -> None:
        if "properties" not in schema and "patternProperties" in schema:
            raise NotStrict(path, "an open map (no properties; keys by patternProperties)")
        extra = schema.get("additionalProperties", True)
        if extra is False:
            return
        if "properties" not in schema:
            raise NotStrict(path, "an open map (no properties; extra keys allowed)")
        if extra is not True and extra != {}:
            raise NotStrict(path, "a map: extra keys with their own schema")
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
            raise NotStrict(path, "array items accept any value")

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
            raise NotStrict(path, f"{positional} is not a non-empty list")
        branches = [self.node(s, f"{path}/{positional}/{i}") for i, s in enumerate(prefix)]
        tail = schema.get(rest, True)
        if tail is not True and tail != {} and tail is not False:
            branches.append(self.node(tail, f"{path}/{rest}"))
        elif tail is not False and not _bounded_by(schema.get("maxItems"), len(prefix)):
            raise NotStrict(path, f"array items after {positional} accept any value")
        unique = list({json.dumps(b, sort_keys=True): b for b in branches}.values())
        out["items"] = unique[0] if len(unique) == 1 else {"anyOf": unique}
        self._move(path, positional, prefix, extras)

    def _type(self, schema: JsonSchema, path: str, out: JsonSchema) -> None:
        if "type" in schema:
            kind = schema["type"]
            names = [kind] if isinstance(kind, str) else kind
            if not isinstance(names, list) or not names or not all(map(_is_type_name, names)):
                raise NotStrict(path, f"type {_short(kind)} is not a JSON type")
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
            raise NotStrict(path, "accepts any value (no type)")

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
                raise NotStrict(path, f"{keyword} beside {', '.join(sorted(others))}")
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


def _single_all_of(schema: JsonSchema) -> bool:
    """``allOf: [X]`` with only annotations beside it: exactly ``anyOf: [X]``."""
    branches = schema.get("allOf")
    others = set(schema) - {"allOf"} - _ANNOTATIONS - _RELAXED - _BESIDE_ANYTHING
    return isinstance(branches, list) and len(branches) == 1 and not others


def _scalar_or_refuse(value: Any, path: str, keyword: str) -> Any:
    if isinstance(value, (dict, list)):
        raise NotStrict(path, f"{keyword} holds an object or an array")
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


# Supported keywords kept when their value has the form strict mode takes.
_CHECKS: dict[str, Callable[[Any], bool]] = {
    "pattern": _compiles,
    "format": lambda v: isinstance(v, str) and v in STRICT_FORMATS,
    "multipleOf": lambda v: _is_number(v) and v > 0,
    **{k: _is_number for k in _NUMBER_BOUNDS},
    **{k: _is_count for k in _COUNTS},
}
