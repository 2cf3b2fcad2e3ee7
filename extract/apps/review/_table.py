"""Records to review from a database: the ``<table>__review`` table of ``extract ingest``.

Each row holds the input line as it came (an ``extract run`` line, or the record
itself) and the pointers of the values that were below ``min_confidence``. A row
becomes a run line for the loader, its unsure values' confidences merged in so the
page marks them. Needs SQLAlchemy (the ``db`` extra), imported only here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from extract.core._errors import UsageError


def review_rows(url: str, table: str) -> Iterator[tuple[str, Any]]:
    """``(where, line)`` for each row of ``<table>__review``, in input order."""
    try:
        import sqlalchemy as sa
    except ImportError as exc:
        raise UsageError(
            "reviewing a database needs SQLAlchemy: pip install 'structured-extract[db]'"
        ) from exc
    name = f"{table}__review"
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise UsageError(f"cannot open {url}: {exc}") from exc
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(name):
                raise UsageError(
                    f"no table {name!r} in the database: extract ingest --min-confidence fills it"
                )
            rows = sa.Table(name, sa.MetaData(), autoload_with=conn)
            query = sa.select(rows).order_by(rows.c.source, rows.c.position)
            found = [dict(r) for r in conn.execute(query).mappings()]
    except sa.exc.OperationalError as exc:
        raise UsageError(f"cannot read {name} from the database: {exc.orig}") from exc
    finally:
        engine.dispose()
    for row in found:
        yield f"{name}:{row['source']}:{row['position']}", _as_line(row)


def _as_line(row: dict[str, Any]) -> Any:
    raw = row["raw"]
    try:
        record = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {"id": _ident(row), "error": f"the stored record is not JSON: {raw[:80]!r}"}
    if isinstance(record, dict) and "id" in record and ("value" in record or "error" in record):
        line = dict(record)  # an ``extract run`` line
    else:
        line = {"id": _ident(row), "value": record}
    if row.get("document") is not None:
        line["id"] = row["document"]
    pointers = row.get("pointers") or {}
    if isinstance(pointers, dict):
        confidence = dict(line.get("confidence") or {})
        confidence.update({p: c for p, c in pointers.items() if p not in confidence})
        line["confidence"] = confidence
    return line


def _ident(row: dict[str, Any]) -> str:
    return f"{row['source']}:{row['position']}"
