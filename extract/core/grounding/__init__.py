"""Grounded extraction: values copied from the text, with their offsets.

``Quote`` marks a string field whose value must come from the input; a local model's
grammar then allows only substrings of the document there, and every backend's answer
is aligned to the text (``_align``), giving ``Result.spans``. ``extract.highlight``
(``extract/apps/highlight.py``) shows them.
"""

from ._align import FUZZY_THRESHOLD, Aligned, Aligner, align_values
from ._quote import CharQuote, Grounded, Quote

__all__ = [
    "FUZZY_THRESHOLD",
    "Aligned",
    "Aligner",
    "CharQuote",
    "Grounded",
    "Quote",
    "align_values",
]
