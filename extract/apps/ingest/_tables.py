"""A Pydantic model -> SQLAlchemy tables: the records table and its quarantine.

Scalar fields become typed columns; nested models, lists, dicts and unions become JSON
columns. Child tables were considered and left out: a record then loads and reads back
in one row, re-loading it is one upsert, and PostgreSQL can still index into JSON.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import types
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Dialect

from extract.core._errors import UsageError

JSON = sa.JSON(none_as_null=True)  # None is SQL NULL, not the JSON text "null"


class _AsText(sa.types.TypeDecorator[Any]):
    """A type SQLite cannot keep exactly (aware datetimes, decimals), kept as text there."""

    impl = sa.String
    cache_ok = True

    def __init__(self, native: sa.types.TypeEngine[Any], parse: Any) -> None:
        super().__init__()
        self.native = native
        self.parse = parse

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String())
        return dialect.type_descriptor(self.native)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return value
        if dialect.name != "sqlite":
            # timestamptz and timetz hold an instant: a value without a zone is taken
            # as UTC here, not in the session's zone (which would shift it by server).
            if isinstance(value, (dt.datetime, dt.time)) and value.utcoffset() is None:
                return value.replace(tzinfo=dt.timezone.utc)
            return value
        return value.isoformat() if hasattr(value, "isoformat") else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return self.parse(value)


def _scalar_type(annotation: Any) -> sa.types.TypeEngine[Any] | None:
    """The column type of a scalar annotation, or None for JSON."""
    if annotation is bool:
        return sa.Boolean()
    if annotation is int:
        return sa.BigInteger()
    if annotation is float:
        return sa.Float()
    if annotation is str:
        return sa.Text()
    if annotation is dt.datetime:
        return _AsText(sa.DateTime(timezone=True), dt.datetime.fromisoformat)
    if annotation is dt.date:
        return sa.Date()
    if annotation is dt.time:
        return _AsText(sa.Time(timezone=True), dt.time.fromisoformat)
    if annotation is decimal.Decimal:
        return _AsText(sa.Numeric(), decimal.Decimal)
    if annotation is uuid.UUID:
        return sa.Uuid()
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return sa.Text()
    if get_origin(annotation) is Literal and all(isinstance(a, str) for a in get_args(annotation)):
        return sa.Text()
    return None


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


@dataclass(frozen=True)
class FieldColumn:
    name: str  # field name, also the column name
    typed: bool  # a typed column rather than JSON
    native: bool  # bound as the Python value (datetime, UUID...), else as its JSON value
    kind: str = "json"  # what the column holds, for the capacity checks: see _kind


def _kind(column_type: sa.types.TypeEngine[Any] | None) -> str:
    """ "int", "float", "text", "datetime", "time", "decimal", "json" or "other"."""
    if column_type is None:
        return "json"
    if isinstance(column_type, _AsText):
        column_type = column_type.native
    for kind, types_ in _KINDS:
        if isinstance(column_type, types_):
            return kind
    return "other"


_KINDS: tuple[tuple[str, type[sa.types.TypeEngine[Any]]], ...] = (
    ("int", sa.BigInteger),
    ("float", sa.Float),
    ("text", sa.Text),
    ("datetime", sa.DateTime),
    ("time", sa.Time),
    ("decimal", sa.Numeric),
)


_NATIVE = (dt.datetime, dt.date, dt.time, decimal.Decimal, uuid.UUID)


@dataclass(frozen=True)
class Layout:
    """How one model maps onto its tables."""

    table: sa.Table
    quarantine: sa.Table
    review: sa.Table  # valid records holding a value below min_confidence
    fields: tuple[FieldColumn, ...]
    key: tuple[str, ...]  # primary-key columns: model fields, or ("_key",) a content hash
    schema_version: str


META_COLUMNS = ("_key", "_hash", "_schema_version", "_source", "_provenance")


def layout(
    model: type[BaseModel], table_name: str, key: Sequence[str] | None, schema_version: str
) -> Layout:
    metadata = sa.MetaData()
    columns: list[sa.Column[Any]] = []
    fields: list[FieldColumn] = []
    key_fields = tuple(key) if key else _marked_keys(model)
    for name in key_fields:
        if name not in model.model_fields:
            raise UsageError(f"key field {name!r} is not a field of {model.__name__}")
    for name, info in model.model_fields.items():
        if name.startswith("_"):
            raise UsageError(f"field {name!r}: names starting with '_' are reserved for metadata")
        inner, optional = _unwrap_optional(info.annotation)
        column_type = _scalar_type(inner)
        if name in key_fields and (column_type is None or optional):
            raise UsageError(f"key field {name!r} must be a required scalar (str, int, UUID...)")
        columns.append(
            sa.Column(
                name,
                column_type if column_type is not None else JSON,
                primary_key=name in key_fields,
                nullable=name not in key_fields,
            )
        )
        native = inner in _NATIVE
        fields.append(FieldColumn(name, column_type is not None, native, _kind(column_type)))
    if not key_fields:
        columns.insert(0, sa.Column("_key", sa.String(64), primary_key=True))
    columns += [
        sa.Column("_hash", sa.String(64), nullable=False),
        sa.Column("_schema_version", sa.String(32), nullable=False),
        sa.Column("_source", sa.Text()),
        sa.Column("_provenance", JSON),
        sa.Column("_created_at", _AsText(sa.DateTime(timezone=True), dt.datetime.fromisoformat)),
        sa.Column("_updated_at", _AsText(sa.DateTime(timezone=True), dt.datetime.fromisoformat)),
    ]
    table = sa.Table(table_name, metadata, *columns)
    quarantine = sa.Table(
        f"{table_name}__quarantine",
        metadata,
        sa.Column("id", sa.String(64), primary_key=True),  # hash of source, position, raw
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("raw", JSON, nullable=False),  # the text as a JSON string: NUL-safe
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("errors", JSON, nullable=False),
        sa.Column("schema_version", sa.String(32), nullable=False),
        sa.Column("created_at", _AsText(sa.DateTime(timezone=True), dt.datetime.fromisoformat)),
        sa.Column("retried_at", _AsText(sa.DateTime(timezone=True), dt.datetime.fromisoformat)),
    )
    review = sa.Table(
        f"{table_name}__review",
        metadata,
        sa.Column("id", sa.String(64), primary_key=True),  # hash of source, position, raw
        sa.Column("document", sa.Text()),  # the run's document id, when the input says it
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("raw", JSON, nullable=False),  # the input line as a JSON string
        sa.Column("pointers", JSON, nullable=False),  # unsure values: pointer -> confidence
        sa.Column("schema_version", sa.String(32), nullable=False),
        sa.Column("created_at", _AsText(sa.DateTime(timezone=True), dt.datetime.fromisoformat)),
    )
    return Layout(table, quarantine, review, tuple(fields), key_fields or ("_key",), schema_version)


def _marked_keys(model: type[BaseModel]) -> tuple[str, ...]:
    """Fields declared with ``Field(json_schema_extra={"primary_key": True})``."""
    marked = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("primary_key") is True:
            marked.append(name)
    return tuple(marked)


def check_existing(engine: sa.Engine, wanted: Layout) -> None:
    """An existing table must have the columns this model needs: no silent drift."""
    inspector = sa.inspect(engine)
    for table in (wanted.table, wanted.quarantine, wanted.review):
        if not inspector.has_table(table.name):
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing = [c.name for c in table.columns if c.name not in present]
        if missing:
            raise UsageError(
                f"table {table.name!r} exists but lacks columns {missing} that the model "
                "needs; ingest into a new table, or migrate this one first"
            )
