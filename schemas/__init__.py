"""The schema compiler: from the types people write to grammars models must follow.

The pipeline, each step a pure function:

1. ``schema_of``: a Pydantic type (a model, ``list[Model]``, a union...) or a raw JSON
   Schema dict -> JSON Schema.
2. ``normalize``: close Pydantic objects (no invented keys), translate Python regexes to
   the engine's dialect, drop what no grammar can express (recorded, not lost).
3. ``compile_schema``: -> an llguidance grammar for compact JSON plus a
   ``ConstraintReport`` of what the grammar enforces and what is validated after
   decoding. Never raises on an inexpressible schema: it degrades instead.

Hosted APIs take a JSON Schema instead of a grammar: ``openai_strict_schema`` (OpenAI
strict mode), ``tool_schema`` (any tool-calling API) and ``llama_cpp_server_schema``
(a tool schema whose patterns llama-cpp-python's grammar converter takes) give the
provider's form as a ``ProviderSchema``, which maps outputs back and reports what the
provider enforces.

Grounded strings (``"x-grounded"``, ``extract.Quote``) get a per-document grammar in
which they are substrings of the input (``grounded_lark``); ``grounded_values`` lists
them in an answer, for alignment.

Results are cached by schema content. This package imports no model runtime.
"""

from ._check import GrammarChecker, byte_tokenizer
from ._compile import GRAMMAR_OPTIONS, CompiledSchema, clear_cache, compile_schema, schema_key
from ._errors import SchemaError
from ._fields import (
    FieldNode,
    child_pointer,
    error_pointer,
    field_pattern,
    field_patterns,
    field_tree,
    value_at,
)
from ._grounded import GROUNDED, grounded_lark, grounded_values, is_grounded
from ._leaves import leaf_spans
from ._llama_cpp_server import llama_cpp_server_schema
from ._normalize import RECURSION_DEPTH, bounded_recursion, normalize, schema_of, walk
from ._providers import ProviderSchema, openai_strict_schema, tool_schema
from ._regex import RegexTranslation, translate_pattern
from ._report import Constraint, ConstraintReport
from ._server_patterns import server_pattern
from ._validate import Invalid

__all__ = [
    "GRAMMAR_OPTIONS",
    "GROUNDED",
    "RECURSION_DEPTH",
    "CompiledSchema",
    "Constraint",
    "ConstraintReport",
    "FieldNode",
    "GrammarChecker",
    "Invalid",
    "ProviderSchema",
    "RegexTranslation",
    "SchemaError",
    "bounded_recursion",
    "byte_tokenizer",
    "child_pointer",
    "clear_cache",
    "compile_schema",
    "error_pointer",
    "field_pattern",
    "field_patterns",
    "field_tree",
    "grounded_lark",
    "grounded_values",
    "is_grounded",
    "leaf_spans",
    "llama_cpp_server_schema",
    "normalize",
    "openai_strict_schema",
    "schema_key",
    "schema_of",
    "server_pattern",
    "tool_schema",
    "translate_pattern",
    "value_at",
    "walk",
]
