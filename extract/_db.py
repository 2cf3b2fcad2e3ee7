"""``extract.ingest`` and friends, importing SQLAlchemy only when first used."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    import sqlalchemy as sa

    from ._ingest import IngestReport


def _module() -> ModuleType:
    try:
        from . import _ingest
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            f"database ingestion needs SQLAlchemy: pip install 'structured-extract[db]' ({exc})"
        ) from exc
    return _ingest


def ingest(
    model: type[BaseModel],
    records: Any,
    into: str | sa.Engine | None = None,
    **options: Any,
) -> IngestReport:
    """Validate ``records`` against ``model`` and load them into a database.

    See ``extract._ingest.ingest`` for the options (table, key, batch_size, dry_run,
    repair, progress). Returns an ``IngestReport`` accounting for every record.
    """
    report: IngestReport = _module().ingest(model, records, into, **options)
    return report


def retry_quarantine(
    model: type[BaseModel],
    into: str | sa.Engine,
    *,
    table: str | None = None,
    key: str | Sequence[str] | None = None,
) -> IngestReport:
    """Re-validate the quarantined records of ``model``'s table and load those that pass."""
    report: IngestReport = _module().retry_quarantine(model, into, table=table, key=key)
    return report
