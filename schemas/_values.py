"""Values between a provider's form and the original schema's (``ProviderSchema``).

Strict mode spells every absent optional property ``null``; ``Values`` drops those
nulls again where the original does not allow them, and adds them to examples.
"""

from __future__ import annotations

import warnings
from typing import Any

import jsonschema
from jsonschema.validators import validator_for

from ._normalize import JsonSchema
from ._pointers import MAX_DEPTH, admits_null, resolve_pointer


class ValueWalker:
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
        if depth > MAX_DEPTH:
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
            elif item is None and key not in required and not self._nullable_here(properties[key]):
                continue
            else:
                out[key] = self._without_nulls(item, properties[key], depth + 1)
        return out

    def _with_nulls(self, value: Any, schema: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
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
        if not isinstance(schema, dict) or depth > MAX_DEPTH:
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
        for _ in range(MAX_DEPTH):
            ref = schema.get("$ref") if isinstance(schema, dict) else None
            if not isinstance(ref, str) or "properties" in schema or "items" in schema:
                return schema
            schema = resolve_pointer(self.root, ref)
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

    def _nullable_here(self, schema: Any) -> bool:
        return admits_null(schema, self.root)

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
