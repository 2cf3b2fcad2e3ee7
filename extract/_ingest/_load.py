"""Validate records against a model and load them, batch by batch, losing nothing.

Each batch is one transaction: its valid records are upserted into the table and its
invalid ones into the quarantine, together or not at all. Loaded rows are keyed by
the model's key (or a content hash) and quarantined ones by (source, position, raw),
so re-running the same input after a crash, a kill or a success adds nothing twice:
every input record ends up exactly once, loaded or quarantined.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pydantic
import sqlalchemy as sa
from pydantic import BaseModel

from schemas import schema_key

from .._errors import UsageError
from .._repair import UnrepairableOutputError, repair_json
from .._result import Result
from ._report import IngestReport
from ._sources import SourceRecord, read
from ._tables import Layout, check_existing, layout


@dataclass(slots=True)
class _Invalid:
    record: SourceRecord
    reason: str
    errors: list[dict[str, Any]]


Progress = Callable[[IngestReport], None]
_EXAMPLES = 5


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
) -> IngestReport:
    """Validate ``records`` against ``model`` and load them into ``into``.

    ``records``: a .jsonl/.json/.csv path, or an iterable of dicts, JSON strings or
    ``extract.Result`` objects. ``into``: a database URL (``sqlite:///app.db``,
    ``postgresql+psycopg://...``) or an SQLAlchemy engine; not needed with ``dry_run``.
    ``key``: the field(s) that identify a record (default: fields marked
    ``json_schema_extra={"primary_key": True}``, else a hash of the content).
    """
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise UsageError(f"ingest needs a Pydantic model class, not {model!r}")
    if batch_size < 1:
        raise UsageError("batch_size must be >= 1")
    keys = (key,) if isinstance(key, str) else key
    version = schema_key(model.model_json_schema())[:16]
    plan = layout(model, table or _default_table(model), keys, version)
    report = IngestReport()
    started = time.perf_counter()
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(model)
    engine = None if dry_run else _engine(into)
    if engine is not None:
        check_existing(engine, plan)
        plan.table.metadata.create_all(engine)
    try:
        for batch in _batches(read(records), batch_size):
            with collector_paused():
                outcomes = validate_batch(adapter, batch, repair)
                if engine is not None:
                    outcomes = _refuse_nul_on_postgresql(engine, plan, outcomes)
                    _write(engine, plan, outcomes, report)
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
    engine = _engine(into)
    check_existing(engine, plan)
    plan.table.metadata.create_all(engine)
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(model)
    report = IngestReport()
    started = time.perf_counter()
    q = plan.quarantine
    with engine.connect() as conn:
        rows = conn.execute(sa.select(q.c.id, q.c.source, q.c.position, q.c.raw)).all()
    for chunk in _batches(iter(rows), batch_size):
        records = [SourceRecord(r.source, r.position, r.raw) for r in chunk]
        outcomes = validate_batch(adapter, records, True)
        outcomes = _refuse_nul_on_postgresql(engine, plan, outcomes)
        _write(engine, plan, outcomes, report, retry_ids=[r.id for r in chunk])
        report.read += len(chunk)
        report.retried += len(chunk)
    if not isinstance(into, sa.Engine):
        engine.dispose()
    report.seconds = time.perf_counter() - started
    return report


def _default_table(model: type[BaseModel]) -> str:
    return model.__name__.lower()


def _engine(into: str | sa.Engine | None) -> sa.Engine:
    if into is None:
        raise UsageError("into= is required (a database URL or engine) unless dry_run=True")
    if isinstance(into, sa.Engine):
        return into
    try:
        engine = sa.create_engine(into)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise UsageError(f"cannot use database URL {into!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work during a load; the busy timeout lets concurrent ingests queue.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def validate_batch(
    adapter: pydantic.TypeAdapter[Any], batch: list[SourceRecord], repair: bool
) -> list[SourceRecord | _Invalid]:
    """Each record with its ``value`` set, or why it is quarantined.

    The loop runs once per record, so the common case (a JSON line that validates)
    is inlined here; everything else goes through ``_validate``.
    """
    validate_json = adapter.validator.validate_json
    out: list[SourceRecord | _Invalid] = []
    for record in batch:
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
) -> SourceRecord | _Invalid:
    """The record with its ``value`` set, or why it is quarantined. Runs per record."""
    if record.problem is not None:
        return _Invalid(record, "unreadable", [{"msg": record.problem}])
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
) -> SourceRecord | _Invalid:
    """A JSON string that failed validation: repaired and retried if it was bad JSON."""
    if repair and _is_json_error(exc):
        if _cut_off(record.payload, exc):
            # What repair_json would conclude, without its scan: cut-off records are
            # never completed by guessing.
            problem = "the JSON ends before its outermost object or array is closed (cut off?)"
            return _Invalid(record, "bad JSON (truncated)", [{"msg": problem}])
        try:
            repaired = repair_json(record.payload)
        except UnrepairableOutputError as bad:
            return _Invalid(record, f"bad JSON ({bad.reason})", [{"msg": str(bad)}])
        try:
            record.value, record.repaired = adapter.validate_json(repaired.text), True
            return record
        except pydantic.ValidationError as again:
            exc = again
    return _rejected(record, exc)


def _rejected(record: SourceRecord, exc: pydantic.ValidationError) -> _Invalid:
    errors = json.loads(exc.json(include_url=False, include_input=False))
    return _Invalid(record, "bad JSON" if _is_json_error(exc) else "invalid", errors)


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


def _refuse_nul_on_postgresql(engine: sa.Engine, plan: Layout, outcomes: list[Any]) -> list[Any]:
    """PostgreSQL text cannot hold NUL: such records are quarantined, not fatal."""
    if engine.dialect.name != "postgresql":
        return outcomes
    typed = [f.name for f in plan.fields if f.typed]  # JSON columns escape NUL as \u0000
    checked = []
    for outcome in outcomes:
        if isinstance(outcome, SourceRecord):
            values = [getattr(outcome.value, name) for name in typed]
            if any(isinstance(v, str) and "\x00" in v for v in values):
                error = {"msg": "a text field contains NUL, which PostgreSQL text cannot store"}
                outcome = _Invalid(outcome, "NUL in text", [error])
        checked.append(outcome)
    return checked


def _count_dry(outcomes: list[Any], report: IngestReport) -> None:
    for outcome in outcomes:
        if isinstance(outcome, SourceRecord):
            report.loaded += 1
            report.repaired += outcome.repaired
        else:
            _count_invalid(outcome, report)


def _count_invalid(outcome: _Invalid, report: IngestReport) -> None:
    report.quarantined += 1
    report.reasons[outcome.reason] += 1
    if len(report.examples) < _EXAMPLES:
        first = outcome.errors[0] if outcome.errors else {}
        where = "/".join(str(p) for p in first.get("loc", ()))
        text = f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))
        report.examples.append((outcome.record.source, outcome.record.position, text))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _row(plan: Layout, record: SourceRecord, now: dt.datetime) -> dict[str, Any]:
    instance = record.value
    as_json = instance.model_dump(mode="json")
    as_python = instance.model_dump()
    content = json.dumps(as_json, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(content.encode()).hexdigest()
    row = {f.name: as_python[f.name] if f.native else as_json[f.name] for f in plan.fields}
    if plan.key == ("_key",):
        row["_key"] = digest
    row.update(
        _hash=digest,
        _schema_version=plan.schema_version,
        _source=f"{record.source}:{record.position}",
        _provenance=_provenance(record.payload),
        _created_at=now,
        _updated_at=now,
    )
    return row


def _provenance(payload: Any) -> dict[str, Any] | None:
    if not isinstance(payload, Result):
        return None
    return {
        "model": payload.model,
        "attempts": len(payload.attempts),
        "raw_sha256": hashlib.sha256(payload.raw.encode()).hexdigest(),
        "completion_tokens": payload.usage.completion_tokens,
    }


def _quarantine_row(plan: Layout, outcome: _Invalid, now: dt.datetime) -> dict[str, Any]:
    record = outcome.record
    raw = record.payload
    if isinstance(raw, Result):
        raw = raw.raw
    text = raw if isinstance(raw, str) else json.dumps(raw, default=str, ensure_ascii=False)
    identity = f"{record.source}\x00{record.position}\x00{text}"
    return {
        "id": hashlib.sha256(identity.encode("utf-8", "backslashreplace")).hexdigest(),
        "source": record.source,
        "position": record.position,
        "raw": text,
        "reason": outcome.reason,
        "errors": outcome.errors,
        "schema_version": plan.schema_version,
        "created_at": now,
        "retried_at": None,
    }


def _write(
    engine: sa.Engine,
    plan: Layout,
    outcomes: list[Any],
    report: IngestReport,
    retry_ids: list[str] | None = None,
) -> None:
    now = _now()
    quarantine = plan.quarantine
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    repaired = 0
    bad: list[dict[str, Any]] = []
    moved: list[str] = []
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome, SourceRecord):
            row = _row(plan, outcome, now)
            identity = tuple(row[k] for k in plan.key)
            if identity in rows:
                report.duplicates += 1  # repeated within this batch: the last one wins
            rows[identity] = row
            repaired += outcome.repaired
            if retry_ids is not None:
                moved.append(retry_ids[i])
        else:
            bad.append(_quarantine_row(plan, outcome, now))
            _count_invalid(outcome, report)
    with engine.begin() as conn:
        existing = _existing_hashes(conn, plan, list(rows))
        fresh = [r for k, r in rows.items() if k not in existing]
        changed = [r for k, r in rows.items() if k in existing and existing[k] != r["_hash"]]
        report.duplicates += len(rows) - len(fresh) - len(changed)
        report.loaded += len(fresh)
        report.updated += len(changed)
        report.repaired += repaired
        if fresh or changed:
            _upsert(conn, plan, fresh + changed)
        if bad and retry_ids is None:
            _insert_ignore(conn, quarantine, bad, ("id",))
        elif bad:  # retrying: they stay, with today's errors
            for row in bad:
                conn.execute(
                    sa.update(quarantine)
                    .where(quarantine.c.id == row["id"])
                    .values(errors=row["errors"], reason=row["reason"], retried_at=now)
                )
        if moved:
            conn.execute(sa.delete(quarantine).where(quarantine.c.id.in_(moved)))


def _existing_hashes(
    conn: sa.Connection, plan: Layout, keys: list[tuple[Any, ...]]
) -> dict[tuple[Any, ...], str]:
    if not keys:
        return {}
    table = plan.table
    columns = [table.c[k] for k in plan.key]
    if len(columns) == 1:
        condition = columns[0].in_([k[0] for k in keys])
    else:
        condition = sa.tuple_(*columns).in_(keys)
    query = sa.select(*columns, table.c._hash).where(condition)
    return {tuple(r[:-1]): r[-1] for r in conn.execute(query)}


def _upsert(conn: sa.Connection, plan: Layout, rows: list[dict[str, Any]]) -> None:
    """Insert, or update rows whose key exists (another ingest may have just added it)."""
    table = plan.table
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        from sqlalchemy.dialects import postgresql, sqlite

        # Both dialects spell upsert ON CONFLICT ... DO UPDATE, with the same API.
        insert: Any = sqlite.insert if dialect == "sqlite" else postgresql.insert
        statement = insert(table)
        keep = {*plan.key, "_created_at"}
        statement = statement.on_conflict_do_update(
            index_elements=list(plan.key),
            set_={c.name: statement.excluded[c.name] for c in table.columns if c.name not in keep},
        )
        conn.execute(statement, rows)
        return
    # Other databases: update what exists, insert the rest (no concurrent-ingest guarantee).
    for row in rows:
        condition = sa.and_(*(table.c[k] == row[k] for k in plan.key))
        values = {k: v for k, v in row.items() if k not in (*plan.key, "_created_at")}
        if conn.execute(sa.update(table).where(condition).values(values)).rowcount == 0:
            conn.execute(sa.insert(table).values(row))


def _insert_ignore(
    conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], key: Iterable[str]
) -> None:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(table).on_conflict_do_nothing(index_elements=list(key)), rows)
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(table).on_conflict_do_nothing(index_elements=list(key)), rows)
    else:
        for row in rows:
            found = conn.execute(sa.select(table.c.id).where(table.c.id == row["id"])).first()
            if found is None:
                conn.execute(sa.insert(table).values(row))
