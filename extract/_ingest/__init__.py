"""Database ingestion: validate records against a model, load them, quarantine the rest."""

from ._load import IngestReport, ingest, retry_quarantine
from ._sources import MAX_LINE_BYTES

__all__ = ["MAX_LINE_BYTES", "IngestReport", "ingest", "retry_quarantine"]
