"""Database ingestion: validate records against a model, load them, quarantine the rest.

``ingest`` and ``retry_quarantine`` live in ``_load``, which imports SQLAlchemy: it is
imported when they are first used, so ``IngestReport`` costs nothing to import.
"""

from typing import TYPE_CHECKING, Any

from ._report import IngestReport
from ._sources import MAX_LINE_BYTES

if TYPE_CHECKING:
    from ._load import ingest, retry_quarantine

__all__ = ["MAX_LINE_BYTES", "IngestReport", "ingest", "retry_quarantine"]


def __getattr__(name: str) -> Any:
    if name not in ("ingest", "retry_quarantine"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from . import _load
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            f"database ingestion needs SQLAlchemy: pip install 'structured-extract[db]' ({exc})"
        ) from exc
    return getattr(_load, name)
