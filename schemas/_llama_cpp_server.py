"""Tool schemas in the dialect of llama-cpp-python's server.

Its server turns the schema of a forced tool call (or of a ``json_object`` response
format) into a GBNF grammar with its own converter, and a grammar that fails to parse
crashes the server. What the converter cannot take is therefore left out of the request
and validated after decoding, as for OpenAI strict mode: every ``pattern`` is respelled
by ``server_pattern`` or, where it has no safe spelling, removed (and named in the
description, so the model still reads it).
"""

from __future__ import annotations

from typing import Any

from ._normalize import JsonSchema, json_copy, walk
from ._providers import ProviderSchema, tool_schema
from ._server_patterns import server_pattern


def llama_cpp_server_schema(schema: JsonSchema) -> ProviderSchema:
    """``schema`` as a tool schema llama-cpp-python's server converts without failing."""
    plain = tool_schema(schema)
    parameters = json_copy(plain.parameters)  # plain.parameters may be plain.original
    notes: list[str] = []
    for path, node in list(walk(parameters)):
        pattern = node.get("pattern")
        if pattern is None:
            continue
        spelled = server_pattern(pattern) if isinstance(pattern, str) else None
        if spelled is not None:
            node["pattern"] = spelled
            continue
        del node["pattern"]
        _describe(node, f"matches the regular expression {pattern!r}")
        notes.append(
            f"{path or '/'}: pattern {pattern!r} has no spelling the server's grammar "
            "converter takes: left out of the request, validated after decoding"
        )
    return ProviderSchema(
        parameters=parameters,
        strict=False,
        wrapped=plain.wrapped,
        enforced=(),
        validated_after=plain.validated_after,
        notes=(*plain.notes, *notes),
        original=plain.original,
    )


def _describe(node: dict[str, Any], requirement: str) -> None:
    description = node.get("description")
    prefix = f"{description} " if isinstance(description, str) and description else ""
    node["description"] = f"{prefix}(must be a string that {requirement})"
