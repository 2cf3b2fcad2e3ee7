"""Validate records against a model and load them, batch by batch, losing nothing.

Each batch is one transaction: its valid records are upserted into the table and its
invalid ones into the quarantine, together or not at all (``_write``; a value the
database refuses sends its record alone to the quarantine). Loaded rows are keyed by
the model's key (or a content hash) and quarantined ones by (source, position, raw),
sources by their resolved path, so re-running the same input after a crash, a kill or
a success adds nothing twice: every input record ends up exactly once, loaded,
quarantined or (with ``min_confidence``) held in the review table (``_runs``).
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pydantic
import sqlalchemy as sa
from pydantic import BaseModel

from extract.core._errors import UsageError
from extract.core._repair import UnrepairableOutputError, repair_json
from extract.core._result import Result
from extract.schemas import schema_key

from ._database import database_errors, open_engine
from ._fit import Capacity
from ._report import IngestReport
from ._runs import accepts_run_lines, unsure, unwrap
from ._sources import (
    MAX_LINE_BYTES,
    Invalid,
    SourceRecord,
    Unsure,
    check_input,
    is_path,
    read,
)
from ._tables import Layout, check_existing, layout
from ._write import count_invalid, write_batch

_Invalid = Invalid  # the name benchmarks/ingest.py imports
Progress = Callable[[IngestReport], None]


def ingest(
    model: type[BaseModel],
    records: Any,
    into: str | sa.Engine | None = None,
    *,
    table: str | None = None,
    key: str | Sequence[str] | None = None,
    batch_size: int = 1000,
    dry_run: bool = False,
    repair: bool = True,
    progress: Progress | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    min_confidence: float | None = None,
) -> IngestReport:
    """Validate ``records`` against ``model`` and load them into ``into``.

    ``records``: a .jsonl/.json/.csv path, or an iterable of dicts, JSON strings or
    ``extract.Result`` objects; ``extract run`` output lines are loaded by their
    ``value`` (a failed extraction is quarantined with its error).
    ``min_confidence``: a valid record holding a value whose confidence is below it
    goes to the ``<table>__review`` table with those values' pointers, not into the
    table (``extract review --data URL`` reads it). ``into``: a database URL (``sqlite:///app.db``,
    ``postgresql+psycopg://...``) or an SQLAlchemy engine; not needed with ``dry_run``.
    ``key``: the field(s) that identify a record (default: fields marked
    ``json_schema_extra={"primary_key": True}``, else a hash of the content).
    ``max_line_bytes``: a longer JSON line is quarantined unread.

    Raises ``UsageError`` for an input file that cannot be read or a database that
    cannot be opened where the URL says, ``IngestError`` when the database fails
    (down, disk full): the batches before the failing one stay committed.
    """
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise UsageError(f"ingest needs a Pydantic model class, not {model!r}")
    if batch_size < 1:
        raise UsageError("batch_size must be >= 1")
    if max_line_bytes < 1:
        raise UsageError("max_line_bytes must be >= 1")
    if min_confidence is not None and not 0.0 <= min_confidence <= 1.0:
        raise UsageError(f"min_confidence must be within [0, 1], not {min_confidence!r}")
    if is_path(records):
        check_input(records)  # before any table is created
    keys = (key,) if isinstance(key, str) else key
    version = schema_key(model.model_json_schema())[:16]
    plan = layout(model, table or _default_table(model), keys, version)
    report = IngestReport()
    started = time.perf_counter()
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(model)
    runs = accepts_run_lines(set(model.model_fields))
    engine = None if dry_run else open_engine(into)
    try:
        capacity = None if engine is None else _prepare(engine, plan)
        for batch in _batches(read(records, max_line_bytes=max_line_bytes), batch_size):
            with collector_paused():
                checked = validate_batch(adapter, batch, repair, runs=runs)
                outcomes = checked if min_confidence is None else route(checked, min_confidence)
                del checked
                if engine is not None and capacity is not None:
                    with database_errors(engine, opening=False):
                        write_batch(engine, plan, capacity, outcomes, report)
                else:
                    _count_dry(outcomes, report)
                del outcomes
            report.read += len(batch)
            report.seconds = time.perf_counter() - started
            if progress is not None:
                progress(report)
    finally:
        if engine is not None and not isinstance(into, sa.Engine):
            engine.dispose()
    report.seconds = time.perf_counter() - started
    return report


def retry_quarantine(
    model: type[BaseModel],
    into: str | sa.Engine,
    *,
    table: str | None = None,
    key: str | Sequence[str] | None = None,
    batch_size: int = 1000,
) -> IngestReport:
    """Re-validate quarantined records (after fixing the model or the data) and load
    those that now pass; each moves out of the quarantine in the same transaction."""
    keys = (key,) if isinstance(key, str) else key
    version = schema_key(model.model_json_schema())[:16]
    plan = layout(model, table or _default_table(model), keys, version)
    engine = open_engine(into)
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(model)
    runs = accepts_run_lines(set(model.model_fields))
    report = IngestReport()
    started = time.perf_counter()
    q = plan.quarantine
    try:
        capacity = _prepare(engine, plan)
        with database_errors(engine, opening=False):
            with engine.connect() as conn:
                query = sa.select(q.c.id, q.c.source, q.c.position, q.c.raw)
                rows = conn.execute(query).all()
            for chunk in _batches(iter(rows), batch_size):
                records = [SourceRecord(r.source, r.position, r.raw) for r in chunk]
                outcomes = validate_batch(adapter, records, True, runs=runs)
                ids = [r.id for r in chunk]
                write_batch(engine, plan, capacity, outcomes, report, retry_ids=ids)
                report.read += len(chunk)
                report.retried += len(chunk)
    finally:
        if not isinstance(into, sa.Engine):
            engine.dispose()
    report.seconds = time.perf_counter() - started
    return report


def _prepare(engine: sa.Engine, plan: Layout) -> Capacity:
    """Check or create the tables: the first time the database is reached."""
    with database_errors(engine, opening=True):
        check_existing(engine, plan)
        plan.table.metadata.create_all(engine)
    return Capacity(plan.fields, engine.dialect.name)


def _default_table(model: type[BaseModel]) -> str:
    return model.__name__.lower()


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def route(
    outcomes: Sequence[SourceRecord | Invalid], threshold: float
) -> Sequence[SourceRecord | Invalid | Unsure]:
    """Valid records holding a value below ``threshold`` marked for the review table."""
    routed: list[SourceRecord | Invalid | Unsure] = []
    for outcome in outcomes:
        if isinstance(outcome, SourceRecord):
            low = unsure(outcome, threshold)
            if low:
                routed.append(Unsure(outcome, low))
                continue
        routed.append(outcome)
    return routed


def validate_batch(
    adapter: pydantic.TypeAdapter[Any],
    batch: list[SourceRecord],
    repair: bool,
    *,
    runs: bool = False,
) -> list[SourceRecord | Invalid]:
    """Each record with its ``value`` set, or why it is quarantined.

    ``runs``: take the value out of ``extract run`` output lines first. The loop runs
    once per record, so the common case (a JSON line that validates) is inlined here;
    everything else goes through ``_validate``.
    """
    validate_json = adapter.validator.validate_json
    out: list[SourceRecord | Invalid] = []
    for record in batch:
        if runs and record.problem is None:
            failed = unwrap(record)
            if failed is not None:
                out.append(failed)
                continue
        if record.problem is None and type(record.payload) is str:
            try:
                record.value = validate_json(record.payload)
                out.append(record)
            except pydantic.ValidationError as exc:
                out.append(_after_json_failure(adapter, record, exc, repair))
        else:
            out.append(_validate(adapter, record, repair))
    return out


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while one batch is validated and written.

    Thousands of new model objects live until their batch is written, and the
    collector would rescan them (and promote them to older generations) again and
    again: measured, that more than doubled validation time on 100k records. Models
    and rows hold no reference cycles, so refcounting frees the whole batch before
    the collector resumes.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _validate(
    adapter: pydantic.TypeAdapter[Any], record: SourceRecord, repair: bool
) -> SourceRecord | Invalid:
    """The record with its ``value`` set, or why it is quarantined. Runs per record."""
    if record.problem is not None:
        return Invalid(record, "unreadable", [{"msg": record.problem}])
    payload = record.payload
    try:
        if isinstance(payload, str):
            record.value = adapter.validator.validate_json(payload)
        elif isinstance(payload, Result):
            record.value = adapter.validate_python(payload.value)
        else:
            record.value = adapter.validate_python(payload)
        return record
    except pydantic.ValidationError as exc:
        if isinstance(payload, str):
            return _after_json_failure(adapter, record, exc, repair)
        return _rejected(record, exc)


def _after_json_failure(
    adapter: pydantic.TypeAdapter[Any],
    record: SourceRecord,
    exc: pydantic.ValidationError,
    repair: bool,
) -> SourceRecord | Invalid:
    """A JSON string that failed validation: repaired and retried if it was bad JSON."""
    if repair and _is_json_error(exc):
        if _cut_off(record.payload, exc):
            # What repair_json would conclude, without its scan: cut-off records are
            # never completed by guessing.
            problem = "the JSON ends before its outermost object or array is closed (cut off?)"
            return Invalid(record, "bad JSON (truncated)", [{"msg": problem}])
        try:
            repaired = repair_json(record.payload)
        except UnrepairableOutputError as bad:
            return Invalid(record, f"bad JSON ({bad.reason})", [{"msg": str(bad)}])
        try:
            record.value, record.repaired = adapter.validate_json(repaired.text), True
            return record
        except pydantic.ValidationError as again:
            exc = again
    return _rejected(record, exc)


def _rejected(record: SourceRecord, exc: pydantic.ValidationError) -> Invalid:
    errors = json.loads(exc.json(include_url=False, include_input=False))
    return Invalid(record, "bad JSON" if _is_json_error(exc) else "invalid", errors)


def _cut_off(payload: str, exc: pydantic.ValidationError) -> bool:
    """The parser ran out of text inside an object or array that starts the payload."""
    first = exc.errors()[0]
    return (
        first["type"] == "json_invalid"
        and "EOF while parsing" in first["msg"]
        and (payload.lstrip()[:1] in ("{", "["))
    )


def _is_json_error(exc: pydantic.ValidationError) -> bool:
    return any(e.get("type") == "json_invalid" for e in exc.errors())


def _count_dry(outcomes: Sequence[Any], report: IngestReport) -> None:
    for outcome in outcomes:
        if isinstance(outcome, SourceRecord):
            report.loaded += 1
            report.repaired += outcome.repaired
        elif isinstance(outcome, Unsure):
            report.review += 1
        else:
            count_invalid(outcome, report)
