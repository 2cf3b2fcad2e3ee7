"""Post-decoding validation: the check that covers everything the grammar does not."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any

import jsonschema
import pydantic
from jsonschema.exceptions import SchemaError as JsonSchemaSchemaError
from jsonschema.validators import validator_for

from ._errors import SchemaError


@dataclass(frozen=True)
class Invalid:
    """Why one output was rejected: a list of human-readable problems."""

    errors: tuple[str, ...]


class PydanticValidator:
    """Validates JSON text with Pydantic, so custom validators run too."""

    def __init__(self, target: Any) -> None:
        self._adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(target)

    def __call__(self, text: str) -> Any:
        try:
            return self._adapter.validate_json(text)
        except pydantic.ValidationError as exc:
            return Invalid(tuple(_pydantic_error(e) for e in exc.errors(include_url=False)))


class JsonSchemaValidator:
    """Validates JSON text against a raw JSON Schema (draft from ``$schema``)."""

    def __init__(self, schema: dict[str, Any]) -> None:
        cls = validator_for(schema, default=jsonschema.Draft202012Validator)
        try:
            with warnings.catch_warnings():
                # Python's re warns about patterns that may change meaning in a future
                # version ("possible set difference"); that is the schema author's concern.
                warnings.simplefilter("ignore", FutureWarning)
                cls.check_schema(schema)
        except JsonSchemaSchemaError as exc:
            raise SchemaError(f"invalid JSON Schema: {exc.message}") from exc
        # Every format jsonschema knows, whatever the draft: the grammar enforces
        # formats too, and "date" in a draft-04 schema means a date.
        self._validator = cls(schema, format_checker=jsonschema.FormatChecker())

    def __call__(self, text: str) -> Any:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            return Invalid((f"not valid JSON: {exc}",))
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            return Invalid(tuple(f"{_pointer(e.absolute_path)}: {e.message}" for e in errors[:10]))
        return value


def _pointer(path: Any) -> str:
    return "/" + "/".join(str(p) for p in path)


def _pydantic_error(error: Any) -> str:
    loc = "/" + "/".join(str(p) for p in error.get("loc", ()))
    return f"{loc}: {error.get('msg', 'invalid')}"
