"""``Quote``: a string field whose value must be copied from the input text."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from extract.schemas import GROUNDED


class Grounded:
    """The marker behind ``Quote``: adds ``"x-grounded": level`` to the field's schema.

    ``level="words"`` (the default) lets a local model copy whole words and the text
    between them; ``"chars"`` any run of characters."""

    def __init__(self, level: Literal["words", "chars"] = "words") -> None:
        if level not in ("words", "chars"):
            raise ValueError(f"grounding level is 'words' or 'chars', not {level!r}")
        self.level = level

    def __repr__(self) -> str:
        return f"Grounded({self.level!r})"

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema[GROUNDED] = self.level
        return schema


#: A string copied verbatim from the input text: a local model may only write a
#: substring of the document there; any other backend's answer is aligned to the text
#: afterwards. Combine with constraints: ``Annotated[Quote, Field(max_length=40)]``.
Quote = Annotated[str, Field(min_length=1), Grounded("words")]

#: ``Quote`` at character level: any run of characters of the text, not only words.
CharQuote = Annotated[str, Field(min_length=1), Grounded("chars")]


def is_quote(annotation: Any) -> bool:
    metadata = getattr(annotation, "__metadata__", ())
    return any(isinstance(m, Grounded) for m in metadata)
