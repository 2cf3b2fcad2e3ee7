"""The Ray engine: extraction as actor pools on a Ray cluster.

The public path of ``extract/apps/ray.py``: see there.
"""

from .apps.ray import (
    ROW_COLUMNS,
    extract_dataset,
    line_from_row,
    row_from_line,
    row_schema,
)

__all__ = [
    "ROW_COLUMNS",
    "extract_dataset",
    "line_from_row",
    "row_from_line",
    "row_schema",
]
