"""Writing one validated batch: its rows upserted, its invalid records quarantined.

A batch is one transaction. Before it, each row is checked against what its columns
can hold (``_fit``); a row that cannot be stored is quarantined with the reason. If
the database still refuses the batch because of a value (a data or integrity error,
or the driver failing to convert one), the batch is split in halves, each written in
its own transaction, down to the one record refused: it is quarantined with the
driver's message and the rest is written. A database that is down, full or missing a
table is no record's fault: that error propagates with the batch rolled back.

Loaded rows are keyed by the model's key (or a content hash) and quarantined ones by
(source, position, raw), so writing a batch again, whole or in halves, adds nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic_core import to_jsonable_python

from extract.core._result import Result

from ._fit import Capacity, Refusal
from ._report import IngestReport
from ._sources import Invalid, SourceRecord, Unsure
from ._tables import Layout

_EXAMPLES = 5  # failures quoted in a report
_MESSAGE = 300  # characters of a driver's message kept as a quarantine reason


@dataclass(slots=True)
class _Load:
    """One key's row; ``candidates`` are the records of the batch with that key, in
    input order: the last one is written, the earlier ones count as duplicates."""

    identity: tuple[Any, ...]
    candidates: list[tuple[dict[str, Any], SourceRecord, str | None]]  # row, record, retry id


@dataclass(slots=True)
class _Park:
    """A record for the quarantine, with its row (and its id there when retrying)."""

    outcome: Invalid
    row: dict[str, Any]
    retry_id: str | None
    sanitized: bool = False  # its raw text was already reduced to what any column takes


@dataclass(slots=True)
class _Hold:
    """A valid record for the review table (a value below ``min_confidence``)."""

    outcome: Unsure
    row: dict[str, Any]


_Unit = _Load | _Park | _Hold


@dataclass
class _Tally:
    """What one committed transaction did, added to the report only once committed."""

    loaded: int = 0
    updated: int = 0
    duplicates: int = 0
    repaired: int = 0
    review: int = 0
    quarantined: list[Invalid] = field(default_factory=list)

    def add_to(self, report: IngestReport) -> None:
        report.loaded += self.loaded
        report.review += self.review
        report.updated += self.updated
        report.duplicates += self.duplicates
        report.repaired += self.repaired
        for outcome in self.quarantined:
            count_invalid(outcome, report)


def write_batch(
    engine: sa.Engine,
    plan: Layout,
    capacity: Capacity,
    outcomes: Sequence[SourceRecord | Invalid | Unsure],
    report: IngestReport,
    retry_ids: Sequence[str] | None = None,
) -> None:
    """Write one batch's outcomes, counting each in ``report`` once it is committed.

    With ``retry_ids`` (the quarantine ids of the outcomes, from ``retry_quarantine``)
    loaded records leave the quarantine and the others have their reasons updated.
    """
    now = dt.datetime.now(dt.timezone.utc)
    loads: dict[tuple[Any, ...], _Load] = {}
    parks: list[_Park | _Hold] = []
    for i, outcome in enumerate(outcomes):
        retry_id = retry_ids[i] if retry_ids is not None else None
        if isinstance(outcome, Unsure):
            parks.append(_Hold(outcome, review_row(plan, outcome, now)))
            continue
        if isinstance(outcome, SourceRecord):
            built = _row(plan, capacity, outcome, now)
            if isinstance(built, Refusal):
                outcome = Invalid(outcome, f"cannot be stored: {built.reason}", built.errors())
            else:
                identity = tuple(built[k] for k in plan.key)
                load = loads.get(identity)
                if load is None:
                    loads[identity] = _Load(identity, [(built, outcome, retry_id)])
                else:
                    load.candidates.append((built, outcome, retry_id))
                continue
        parks.append(_Park(outcome, quarantine_row(plan, outcome, now), retry_id))
    _write_units(engine, plan, [*loads.values(), *parks], report, now)


def _write_units(
    engine: sa.Engine, plan: Layout, units: list[_Unit], report: IngestReport, now: dt.datetime
) -> None:
    if not units:
        return
    try:
        with engine.begin() as conn:
            tally = _write_in(conn, plan, units, now)
    except Exception as exc:
        if not is_refusal(exc):
            raise
        if len(units) > 1:  # which record is it? Each half in its own transaction.
            half = len(units) // 2
            _write_units(engine, plan, units[:half], report, now)
            _write_units(engine, plan, units[half:], report, now)
        else:
            _write_units(engine, plan, _without_refused(plan, units[0], exc, now), report, now)
        return
    tally.add_to(report)


def _without_refused(plan: Layout, unit: _Unit, exc: Exception, now: dt.datetime) -> list[_Unit]:
    """What to write instead of the one unit the database refused."""
    message = driver_message(exc)
    if isinstance(unit, _Hold):  # quarantined instead: its raw text is sanitised there
        record = unit.outcome.record
        held = Invalid(record, "refused by the database", [{"type": "refused", "msg": message}])
        return [_Park(held, quarantine_row(plan, held, now), None)]
    if isinstance(unit, _Park):
        if unit.sanitized:  # even its text reduced to ASCII is refused: not the record
            raise exc
        return [_sanitized(plan, unit, message, now)]
    _, record, retry_id = unit.candidates[-1]
    refused = Invalid(
        record, "refused by the database", [{"type": "refused", "loc": [], "msg": message}]
    )
    rest: list[_Unit] = [_Park(refused, quarantine_row(plan, refused, now), retry_id)]
    if len(unit.candidates) > 1:  # the earlier records with this key may well be fine
        rest.append(_Load(unit.identity, unit.candidates[:-1]))
    return rest


def _sanitized(plan: Layout, park: _Park, message: str, now: dt.datetime) -> _Park:
    """The quarantine row, its raw text reduced to ASCII escapes, its errors the
    driver's message: a record is never lost because its quarantine row was refused."""
    record = park.outcome.record
    raw = park.row["raw"].encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    safe = Invalid(
        SourceRecord(record.source, record.position, raw),
        park.outcome.reason,
        [{"type": "refused", "loc": [], "msg": f"quarantined as ASCII escapes: {message}"}],
    )
    return _Park(safe, quarantine_row(plan, safe, now), park.retry_id, sanitized=True)


def is_refusal(exc: BaseException) -> bool:
    """The database or its driver refused a value, not the whole write."""
    if isinstance(exc, sa.exc.DBAPIError):
        if isinstance(exc, (sa.exc.DataError, sa.exc.IntegrityError)):
            return True
        # PostgreSQL class 54, "program limit exceeded": e.g. a key too long to index.
        return str(getattr(exc.orig, "sqlstate", "") or "").startswith("54")
    cause = exc.orig if isinstance(exc, sa.exc.StatementError) else exc  # a bind processor
    # What drivers raise converting a value they cannot bind (sqlite3: OverflowError
    # for an integer beyond 64 bits; both: UnicodeEncodeError for a lone surrogate).
    return isinstance(cause, (ValueError, TypeError, OverflowError))


def driver_message(exc: BaseException) -> str:
    """One line: the exception's type and the first line of the driver's message."""
    orig = exc.orig if isinstance(exc, sa.exc.StatementError) and exc.orig else exc
    lines = str(orig).strip().splitlines() or [""]
    text = f"{type(orig).__name__}: {lines[0]}"
    return text if len(text) <= _MESSAGE else text[: _MESSAGE - 3] + "..."


def _write_in(conn: sa.Connection, plan: Layout, units: list[_Unit], now: dt.datetime) -> _Tally:
    tally = _Tally()
    loads = [u for u in units if isinstance(u, _Load)]
    parks = [u for u in units if isinstance(u, _Park)]
    if loads:
        existing = _existing_hashes(conn, plan, [u.identity for u in loads])
        writes = []
        for load in loads:
            row = load.candidates[-1][0]
            tally.duplicates += len(load.candidates) - 1  # repeated in the batch: last wins
            tally.repaired += sum(record.repaired for _, record, _ in load.candidates)
            known = existing.get(load.identity)
            if known is None:
                tally.loaded += 1
            elif known != row["_hash"]:
                tally.updated += 1
            else:
                tally.duplicates += 1
                continue
            writes.append(row)
        if writes:
            _upsert(conn, plan, writes)
        moved = [rid for u in loads for _, _, rid in u.candidates if rid is not None]
        if moved:
            quarantine = plan.quarantine
            conn.execute(sa.delete(quarantine).where(quarantine.c.id.in_(moved)))
    held = [u.row for u in units if isinstance(u, _Hold)]
    if held:
        _insert_ignore(conn, plan.review, held, ("id",))
        tally.review += len(held)
    fresh = [p.row for p in parks if p.retry_id is None]
    if fresh:
        _insert_ignore(conn, plan.quarantine, fresh, ("id",))
    for park in parks:
        if park.retry_id is not None:  # retrying: it stays, with today's errors
            q = plan.quarantine
            conn.execute(
                sa.update(q)
                .where(q.c.id == park.retry_id)
                .values(errors=park.row["errors"], reason=park.row["reason"], retried_at=now)
            )
        tally.quarantined.append(park.outcome)
    return tally


def count_invalid(outcome: Invalid, report: IngestReport) -> None:
    report.quarantined += 1
    report.reasons[outcome.reason] += 1
    if len(report.examples) < _EXAMPLES:
        first = outcome.errors[0] if outcome.errors else {}
        where = "/".join(str(p) for p in first.get("loc", ()))
        text = f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))
        report.examples.append((outcome.record.source, outcome.record.position, text))


def _row(
    plan: Layout, capacity: Capacity, record: SourceRecord, now: dt.datetime
) -> dict[str, Any] | Refusal:
    """The record's row, or why its values cannot be stored."""
    instance = record.value
    as_json = instance.model_dump(mode="json")
    as_python = instance.model_dump()
    row = {f.name: as_python[f.name] if f.native else as_json[f.name] for f in plan.fields}
    refusal = capacity.check(row)
    if refusal is not None:
        return refusal
    try:
        content = json.dumps(
            as_json, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except ValueError:  # NaN or an infinity somewhere: fine in a typed float column only
        refusal = capacity.non_finite(row)
        if refusal is not None:
            return refusal
        content = json.dumps(as_json, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        digest = hashlib.sha256(content.encode()).hexdigest()
    except UnicodeEncodeError as exc:
        problem = "text with a lone surrogate, which is not Unicode any database stores"
        return Refusal(None, problem, f"{problem} ({exc.reason} at {exc.start})")
    if plan.key == ("_key",):
        row["_key"] = digest
    row.update(
        _hash=digest,
        _schema_version=plan.schema_version,
        _source=f"{record.source}:{record.position}",
        _provenance=_provenance(record),
        _created_at=now,
        _updated_at=now,
    )
    return row


def _provenance(record: SourceRecord) -> dict[str, Any] | None:
    payload, line = record.payload, record.envelope
    if isinstance(line, dict):  # an ``extract run`` output line
        usage = line.get("usage")
        kept = {
            "document": line.get("id"),
            "model": line.get("model"),
            "attempts": line.get("attempts"),
            "completion_tokens": usage.get("completion_tokens")
            if isinstance(usage, dict)
            else None,
            "confidence": record.confidence or None,
        }
        return {k: v for k, v in kept.items() if v is not None}
    if not isinstance(payload, Result):
        return None
    return {
        "model": payload.model,
        "attempts": len(payload.attempts),
        "raw_sha256": hashlib.sha256(payload.raw.encode()).hexdigest(),
        "completion_tokens": payload.usage.completion_tokens,
    }


def _raw_text(record: SourceRecord) -> str:
    """The input as it came: a run line whole, a Result's model output, else the payload."""
    raw = record.envelope if record.envelope is not None else record.payload
    if isinstance(raw, Result):
        raw = raw.raw
    return raw if isinstance(raw, str) else json.dumps(raw, default=str, ensure_ascii=False)


def _row_id(record: SourceRecord, text: str) -> str:
    identity = f"{record.source}\x00{record.position}\x00{text}"
    return hashlib.sha256(identity.encode("utf-8", "backslashreplace")).hexdigest()


def review_row(plan: Layout, outcome: Unsure, now: dt.datetime) -> dict[str, Any]:
    record = outcome.record
    text = _raw_text(record)
    if isinstance(record.payload, Result):  # kept as a run line: the page reads it as such
        result = record.payload
        line = {
            "id": f"{record.source}:{record.position}",
            "value": to_jsonable_python(result.value),
            "confidence": result.confidence,
            **({"spans": {p: list(s) for p, s in result.spans.items()}} if result.spans else {}),
        }
        text = json.dumps(line, ensure_ascii=False)
    envelope = record.envelope
    document = envelope.get("id") if isinstance(envelope, dict) else None
    return {
        "id": _row_id(record, text),
        "document": None if document is None else str(document),
        "source": record.source,
        "position": record.position,
        "raw": text,
        "pointers": outcome.pointers,
        "schema_version": plan.schema_version,
        "created_at": now,
    }


def quarantine_row(plan: Layout, outcome: Invalid, now: dt.datetime) -> dict[str, Any]:
    record = outcome.record
    text = _raw_text(record)
    return {
        "id": _row_id(record, text),
        "source": record.source,
        "position": record.position,
        "raw": text,
        "reason": outcome.reason,
        "errors": outcome.errors,
        "schema_version": plan.schema_version,
        "created_at": now,
        "retried_at": None,
    }


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
