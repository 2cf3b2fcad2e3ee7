"""Building the messages: shared prefix first (schema, instructions, examples), text last.

The order matters for speed: the local backend keeps the KV cache of the longest
common prefix, so everything that is the same across documents comes first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter

from extract.backends import Completion, Message

from ._fields import describe_fields

SYSTEM = (
    "You extract structured data from the user's text. Answer with a single JSON value "
    "that matches this JSON Schema. Use only information stated in the text; use null "
    "or leave out optional fields the text does not mention.\nJSON Schema:\n{schema}"
)
# The same rules with the field list (``prompt="fields"``): the grammar or tool schema
# enforces the structure, the prompt says what each field means.
SYSTEM_FIELDS = (
    "You extract structured data from the user's text. Answer with a single JSON value. "
    "Use only information stated in the text; use null or leave out optional fields the "
    "text does not mention.\n{fields}"
)
PROMPTS = ("schema", "fields")


def build_messages(
    schema: dict[str, Any],
    text: str,
    *,
    instructions: str | None,
    examples: Sequence[tuple[str, Any]],
    target: Any,
    prompt: str = "schema",
) -> tuple[Message, ...]:
    if prompt == "fields":
        system = SYSTEM_FIELDS.format(fields=describe_fields(schema))
    else:
        system = SYSTEM.format(schema=json.dumps(schema, separators=(",", ":")))
    if instructions:
        system += f"\n{instructions}"
    messages = [Message("system", system)]
    for example_text, example_value in examples:
        messages.append(Message("user", example_text))
        messages.append(Message("assistant", dump_example(example_value, target)))
    messages.append(Message("user", text))
    return tuple(messages)


def repair_messages(
    messages: tuple[Message, ...], answer: Completion, errors: Sequence[str]
) -> tuple[Message, ...]:
    """A new conversation that quotes the errors back; the old one is left as it was.

    A tool call is answered as a tool result, so the model sees its own call rejected.
    """
    problems = "\n".join(f"- {e}" for e in errors[:10])
    if errors and all(_names_a_part(e) for e in errors):
        # Only some values are wrong: say so, or a small model rewrites what was fine.
        feedback = (
            f"Only these parts of that JSON are wrong:\n{problems}\n"
            "Keep every other value as it was and answer again with the whole JSON, "
            "corrected there, for the same text."
        )
    else:
        feedback = (
            f"That JSON is not valid for the schema:\n{problems}\n"
            "Answer again with corrected JSON for the same text."
        )
    if answer.call_id is not None:
        return (
            *messages,
            Message("assistant", answer.text, call_id=answer.call_id),
            Message("tool", feedback, call_id=answer.call_id),
        )
    return (*messages, Message("assistant", answer.text), Message("user", feedback))


def _names_a_part(error: str) -> bool:
    """Whether a validation error points below the root (``/items/0/price: ...``)."""
    pointer, sep, _ = error.partition(": ")
    return bool(sep) and pointer.startswith("/") and len(pointer) > 1 and " " not in pointer


def dump_example(value: Any, target: Any) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if (
        isinstance(target, dict)
        or isinstance(value, (dict, str, int, float, bool))
        or value is None
    ):
        return json.dumps(value, separators=(",", ":"), default=str)
    return TypeAdapter(target).dump_json(value, warnings=False).decode()
