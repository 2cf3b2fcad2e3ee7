"""Post-decoding validation: the check that covers everything the grammar does not."""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from typing import Any

import jsonschema
import jsonschema_rs
import pydantic
from jsonschema.exceptions import SchemaError as JsonSchemaSchemaError
from jsonschema.validators import validator_for

from ._errors import SchemaError
from ._normalize import walk


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
        check_schema(cls, schema)
        self._validator = cls(schema, format_checker=_format_checker(cls))

    def __call__(self, text: str) -> Any:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            return Invalid((f"not valid JSON: {exc}",))
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            return Invalid(tuple(f"{_pointer(e.absolute_path)}: {e.message}" for e in errors[:10]))
        return value


def _format_checker(cls: Any) -> jsonschema.FormatChecker:
    """The draft's own formats, plus the newest definition of the ones it lacks.

    The grammar enforces formats, so they are asserted here too; "date" in a
    draft-04 schema means a date. ``FormatChecker()`` with every known format is not
    right either: it reads "time" as draft 3's ``HH:MM:SS`` and refuses "12:00:00Z".
    """
    checker = jsonschema.FormatChecker(formats=())
    checker.checkers = {
        **jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers,
        **cls.FORMAT_CHECKER.checkers,
    }
    return checker


_RS_DRAFTS: dict[Any, str] = {
    jsonschema.Draft4Validator: "http://json-schema.org/draft-04/schema#",
    jsonschema.Draft6Validator: "http://json-schema.org/draft-06/schema#",
    jsonschema.Draft7Validator: "http://json-schema.org/draft-07/schema#",
    jsonschema.Draft201909Validator: "https://json-schema.org/draft/2019-09/schema",
    jsonschema.Draft202012Validator: "https://json-schema.org/draft/2020-12/schema",
}


def check_schema(cls: Any, schema: dict[str, Any]) -> None:
    """Raise SchemaError if ``schema`` does not conform to its draft's metaschema.

    jsonschema's own check walks the metaschema in Python and was most of our compile
    time on real-world schemas (5 ms median); jsonschema-rs answers the same question
    in microseconds. Only when it objects does jsonschema, which validates the
    instances, decide and word the error, so both libraries must agree to reject.
    """
    draft = _RS_DRAFTS.get(cls)
    if draft is not None:
        # The draft jsonschema chose, spelled so jsonschema-rs never fetches anything.
        try:
            # Newer drafts leave the metaschema's "format": "regex" unchecked, so the
            # patterns' Python syntax (what the validator will use) is checked here.
            if jsonschema_rs.meta.is_valid({**schema, "$schema": draft}) and _regexes_compile(
                schema
            ):
                return
        except (ValueError, jsonschema_rs.ReferencingError):
            pass  # let jsonschema decide
    try:
        with warnings.catch_warnings():
            # Python's re warns about patterns that may change meaning in a future
            # version ("possible set difference"); that is the schema author's concern.
            warnings.simplefilter("ignore", FutureWarning)
            cls.check_schema(schema)
    except JsonSchemaSchemaError as exc:
        raise SchemaError(f"invalid JSON Schema: {exc.message}") from exc


def _regexes_compile(schema: dict[str, Any]) -> bool:
    for _, node in walk(schema):
        patterns = [node.get("pattern")]
        if isinstance(node.get("patternProperties"), dict):
            patterns.extend(node["patternProperties"])
        for pattern in patterns:
            if isinstance(pattern, str):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", FutureWarning)
                        re.compile(pattern)
                except re.error:
                    return False
    return True


def _pointer(path: Any) -> str:
    return "/" + "/".join(str(p) for p in path)


def _pydantic_error(error: Any) -> str:
    loc = "/" + "/".join(str(p) for p in error.get("loc", ()))
    return f"{loc}: {error.get('msg', 'invalid')}"
