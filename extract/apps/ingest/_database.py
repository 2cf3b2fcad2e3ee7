"""The database an ingest writes to: opened, its place checked, its failures mapped.

Every SQLAlchemy or driver error that reaches here is the database's, not a record's
(``_write`` quarantines those), and leaves as one line: a ``UsageError`` when the
SQLite file named cannot be opened where it is (a folder that does not exist, a
read-only place: the URL is wrong), an ``IngestError`` otherwise (a server that is
down or refuses the login, a full disk, a table dropped mid-run: the URL may be
right and running again later may work).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from extract.core._errors import IngestError, UsageError

# What SQLite says when the file named cannot be used at all: a wrong path, not an outage.
_SQLITE_BAD_PLACE = ("unable to open database file", "readonly database", "not a database")


def open_engine(into: str | sa.Engine | None) -> sa.Engine:
    if into is None:
        raise UsageError("into= is required (a database URL or engine) unless dry_run=True")
    if isinstance(into, sa.Engine):
        engine = into
    else:
        try:
            engine = sa.create_engine(into)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise UsageError(f"cannot use database URL {into!r}: {exc}") from exc
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
    if engine.dialect.name == "sqlite":
        _check_sqlite_place(engine.url)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work during a load; the busy timeout lets concurrent ingests queue.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_file(url: sa.URL) -> str | None:
    """The file a SQLite URL names, or None for an in-memory database."""
    database = url.database
    if not database or database == ":memory:" or url.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):  # a URI filename: SQLite parses it, we do not
        return None
    return database


def _check_sqlite_place(url: sa.URL) -> None:
    """``UsageError`` unless the database file can be opened and written where it is
    (SQLite writes its journal beside it, so the folder must take new files)."""
    database = _sqlite_file(url)
    if database is None:
        return
    path = Path(database)
    if path.is_dir():
        raise UsageError(f"the SQLite database {database} is a directory")
    folder = path.absolute().parent
    if not folder.is_dir():
        raise UsageError(f"cannot open the SQLite database {database}: no folder {folder}")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise UsageError(f"cannot write the SQLite database {database}: the file is read-only")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write the SQLite database {database}: {folder} is read-only")


def describe(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


@contextmanager
def database_errors(engine: sa.Engine, *, opening: bool) -> Iterator[None]:
    """Database errors as one-line ``UsageError``/``IngestError`` (see the module)."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        detail = _first_line(exc.orig if exc.orig is not None else exc)
        where = describe(engine)
        bad_place = any(s in detail for s in _SQLITE_BAD_PLACE)
        if opening and bad_place and engine.dialect.name == "sqlite" and _sqlite_file(engine.url):
            raise UsageError(f"cannot use the SQLite database {where}: {detail}") from exc
        if opening:
            raise IngestError(f"cannot open the database {where}: {detail}") from exc
        raise IngestError(
            f"writing to the database {where} failed: {detail} (the batch being written "
            "was rolled back, the ones before it are committed: run again to resume)"
        ) from exc


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__
