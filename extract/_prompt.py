"""Building the messages: shared prefix first (schema, instructions, examples), text last.

The order matters for speed: the local backend keeps the KV cache of the longest
common prefix, so everything that is the same across documents comes first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter

from backends import Completion, Message

SYSTEM = (
    "You extract structured data from the user's text. Answer with a single JSON value "
    "that matches this JSON Schema. Use only information stated in the text; use null "
    "or leave out optional fields the text does not mention.\nJSON Schema:\n{schema}"
)


def build_messages(
    schema: dict[str, Any],
    text: str,
    *,
    instructions: str | None,
    examples: Sequence[tuple[str, Any]],
    target: Any,
) -> tuple[Message, ...]:
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
