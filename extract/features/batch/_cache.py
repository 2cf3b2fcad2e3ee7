"""An on-disk cache of extraction results, so a repeated batch costs nothing.

SQLite (the standard library's ``sqlite3``) holds one row per key: safe across threads
and processes, and a crash leaves it consistent. The key covers everything that decides
the answer: the model, the schema, the options and the text. Only successes are stored:
a failure is tried again next time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from extract.core._errors import UsageError
from extract.core._loop import UNKEYED_OPTIONS, Options
from extract.core._prompt import dump_example

logger = logging.getLogger(__name__)


def default_cache_path() -> Path:
    """``$EXTRACT_CACHE``, else the user's cache directory (XDG on Linux)."""
    if env := os.environ.get("EXTRACT_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "structured-extract" / "results.sqlite"


def cache_key(model: str, schema_key: str, target: Any, options: Options, text: str) -> str:
    """A hash of what decides the answer: model identity, schema, options and text."""
    # What cannot change the answer stays out, so a budget, a price or a hook never
    # misses the cache (and a budget's live counter is never copied).
    settings = asdict(replace(options, budgets=(), prices=None, on_attempt=None, on_result=None))
    for name in UNKEYED_OPTIONS:
        settings.pop(name)
    settings["examples"] = [[t, dump_example(v, target)] for t, v in options.examples]
    parts = [
        model,
        schema_key,
        json.dumps(settings, sort_keys=True, default=repr),
        hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class ResultCache:
    """``key -> JSON record`` in a SQLite file; one connection per thread."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._warned = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connection() as db:
                _while_locked(
                    db, "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, record TEXT)"
                )
        except (OSError, sqlite3.Error) as exc:
            self.close()
            raise UsageError(
                f"cannot use the result cache {self.path}: {exc} "
                "(give another file with --cache / cache=, or turn it off with --no-cache)"
            ) from exc

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            # Each thread uses its own connection; close() may run on another thread.
            db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            _while_locked(db, "PRAGMA journal_mode=WAL")  # readers never wait for the writer
            self._local.db = db
            with self._all_lock:
                self._all.append(db)
        return db

    def get(self, key: str) -> dict[str, Any] | None:
        """The record stored under ``key``; None for a miss, and for a cache that cannot
        be read (it only saves work: a damaged cache must not fail the document)."""
        try:
            row = (
                self._connection()
                .execute("SELECT record FROM results WHERE key = ?", (key,))
                .fetchone()
            )
        except sqlite3.Error as exc:
            self._warn_once(f"the result cache {self.path} cannot be read ({exc}); not using it")
            return None
        if row is None:
            return None
        try:
            record: dict[str, Any] = json.loads(row[0])
        except ValueError:
            return None  # a damaged row is a miss, and is overwritten on the next put
        return record

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Stores ``record``; a cache that cannot be written (a full disk, a damaged
        file) is warned about once and otherwise ignored: the result itself is kept."""
        try:
            with self._connection() as db:
                db.execute(
                    "INSERT OR REPLACE INTO results (key, record) VALUES (?, ?)",
                    (key, json.dumps(record)),  # ASCII: a lone surrogate cannot break it
                )
        except sqlite3.Error as exc:
            self._warn_once(f"the result cache {self.path} cannot be written ({exc})")

    def _warn_once(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(message)

    def __len__(self) -> int:
        return int(self._connection().execute("SELECT count(*) FROM results").fetchone()[0])

    def close(self) -> None:
        """Closes every thread's connection; use the cache from one thread when closing."""
        with self._all_lock:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _while_locked(db: sqlite3.Connection, statement: str, patience: float = 30.0) -> None:
    """``statement``, tried again while another process holds the lock. Several workers
    opening a new cache at once race to switch it to WAL, and SQLite answers "database
    is locked" at once there, without waiting as the connection's timeout asks."""
    deadline = time.monotonic() + patience
    pause = 0.01
    while True:
        try:
            db.execute(statement)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.5)
