"""Grounded extraction: values copied from the text, with their offsets.

``Quote`` marks a string field whose value must come from the input; a local model's
grammar then allows only substrings of the document there, and every backend's answer
is aligned to the text (``_align``), giving ``Result.spans``; ``highlight`` shows them.
"""

from collections.abc import Mapping
from typing import Any

from ._align import FUZZY_THRESHOLD, Aligned, Aligner, align_values
from ._highlight import escape_html, highlight_documents, marked_text
from ._highlight import highlight as highlight_spans
from ._quote import CharQuote, Grounded, Quote

__all__ = [
    "FUZZY_THRESHOLD",
    "Aligned",
    "Aligner",
    "CharQuote",
    "Grounded",
    "Quote",
    "align_values",
    "escape_html",
    "highlight",
    "highlight_documents",
    "highlight_spans",
    "marked_text",
]


def highlight(text: str, result: Any, title: str | None = None) -> str:
    """A self-contained HTML page of ``text`` with every grounded value highlighted (one
    colour per field; hovering shows the JSON pointer). ``result``: an
    ``extract.Result`` or its ``spans`` mapping (pointer -> (start, end))."""
    spans = result if isinstance(result, Mapping) else getattr(result, "spans", None)
    if not isinstance(spans, Mapping):
        raise TypeError(f"highlight() takes a Result or a spans mapping, not {result!r}")
    return highlight_spans(text, spans, title)
