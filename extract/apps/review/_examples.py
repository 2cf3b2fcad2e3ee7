"""Reviewed documents marked "use as example", ready for ``examples=``."""

from __future__ import annotations

import json
import os
from typing import Any

from extract.apps.evaluation import Dataset
from extract.core._errors import UsageError


def load_examples(path: str | os.PathLike[str], target: Any) -> list[tuple[str, Any]]:
    """``(text, record)`` pairs of the accepted or corrected documents of a reviewed
    JSON Lines file that were marked "use as example", records validated against
    ``target``: pass them as ``examples=`` to ``extract.run`` or an ``Extractor``."""
    marked: set[str] = set()
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line) if line.strip() else None
                if isinstance(row, dict) and row.get("example") is True and "id" in row:
                    marked.add(str(row["id"]))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the examples in {os.fspath(path)}: {exc}") from exc
    return [(doc.text, doc.gold) for doc in Dataset.from_jsonl(path, target) if doc.id in marked]
