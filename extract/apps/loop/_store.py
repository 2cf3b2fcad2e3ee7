"""The loop's state on disk: answers, the documents queued, what each system suggested
and how it scored.

One SQLite file in WAL mode with ``synchronous=FULL``, one transaction per answer: an
answer that ``Loop.answer`` returned from is on disk, whatever kills the process after.
A suggestion is kept (per document text and system) until the document is answered;
then it is scored against the answer and the scores stay, so the choice between systems
survives restarts too.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extract.apps.evaluation._score import Counts

_TABLES = """
CREATE TABLE IF NOT EXISTS answers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, text TEXT NOT NULL,
    value TEXT NOT NULL, spans TEXT, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS suggestions (
    key TEXT NOT NULL, system TEXT NOT NULL, value TEXT, at REAL NOT NULL,
    PRIMARY KEY (key, system));
CREATE TABLE IF NOT EXISTS scores (
    seq INTEGER NOT NULL, id TEXT NOT NULL, system TEXT NOT NULL, unit TEXT NOT NULL,
    tp INTEGER NOT NULL, fp INTEGER NOT NULL, fn INTEGER NOT NULL, changed INTEGER NOT NULL,
    PRIMARY KEY (id, system, unit));
"""


@dataclass(frozen=True)
class Answer:
    id: str
    text: str
    value: Any  # JSON, fields by alias
    spans: dict[str, tuple[int, int]] | None


class Store:
    """Thread-safe: the review page answers from worker threads while training reads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_TABLES)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def answer(
        self, ident: str, text: str, value: Any, spans: Mapping[str, tuple[int, int]] | None,
        scored: Mapping[str, Mapping[str, Counts]],
    ) -> bool:  # fmt: skip
        """Store (or replace) an answer, with the scores of the suggestions made for
        it; True when the document had not been answered before."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            first = self._db.execute("SELECT 1 FROM answers WHERE id = ?", (ident,)).fetchone()
            self._db.execute(
                "INSERT INTO answers (id, text, value, spans, at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET text = excluded.text, value = excluded.value, "
                "spans = excluded.spans, at = excluded.at",
                (ident, text, _dump(value), None if spans is None else _dump(spans), time.time()),
            )
            if first is None:
                (seq,) = self._db.execute(
                    "SELECT seq FROM answers WHERE id = ?", (ident,)
                ).fetchone()
                self._db.executemany(
                    "INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (seq, ident, system, unit, c.tp, c.fp, c.fn, c.changed)
                        for system, units in scored.items()
                        for unit, c in units.items()
                    ],
                )
            return first is None

    def forget(self, ident: str) -> bool:
        """Drop an answer and the scores it gave (an undone review); True if it was there."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM scores WHERE id = ?", (ident,))
            return self._db.execute("DELETE FROM answers WHERE id = ?", (ident,)).rowcount > 0

    def answers(self) -> list[Answer]:
        with self._lock:
            rows = self._db.execute("SELECT id, text, value, spans FROM answers ORDER BY seq")
            return [
                Answer(i, t, json.loads(v), None if s is None else _spans(json.loads(s)))
                for i, t, v, s in rows.fetchall()
            ]

    def answer_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM answers").fetchone()[0])

    def version(self) -> tuple[int, int]:
        """(answers, the latest answer's number): changes with every answer kept or dropped."""
        with self._lock:
            count, last = self._db.execute("SELECT count(*), max(seq) FROM answers").fetchone()
            return int(count), int(last or 0)

    def answered(self, ident: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM answers WHERE id = ?", (ident,)).fetchone()
            return row is not None

    def keep_suggestions(self, key: str, values: Mapping[str, Any]) -> None:
        """What each system suggested for the text ``key`` names (None: it failed)."""
        now = time.time()
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM suggestions WHERE key = ?", (key,))
            self._db.executemany(
                "INSERT INTO suggestions VALUES (?, ?, ?, ?)",
                [(key, s, None if v is None else _dump(v), now) for s, v in values.items()],
            )

    def suggestions(self, key: str) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute("SELECT system, value FROM suggestions WHERE key = ?", (key,))
            return {s: None if v is None else json.loads(v) for s, v in rows.fetchall()}

    def forget_suggestions(self, key: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM suggestions WHERE key = ?", (key,))

    def evidence(self, window: int) -> dict[str, dict[str, tuple[int, Counts]]]:
        """system -> unit -> (documents, summed counts) over each system's last
        ``window`` scored documents."""
        out: dict[str, dict[str, tuple[int, Counts]]] = {}
        with self._lock:
            rows = self._db.execute(
                "SELECT system, unit, tp, fp, fn, changed FROM ("
                " SELECT s.*, DENSE_RANK() OVER (PARTITION BY system ORDER BY seq DESC) AS r"
                " FROM scores s) WHERE r <= ?",
                (window,),
            ).fetchall()
        for system, unit, tp, fp, fn, changed in rows:
            documents, counts = out.setdefault(system, {}).get(unit, (0, Counts()))
            counts.add(Counts(tp, fp, fn, changed))
            out[system][unit] = (documents + 1, counts)
        return out

    def enqueue(self, documents: Iterable[tuple[str, str]]) -> int:
        """Queue documents (id, text) for review; ids already queued are kept as they
        are. Returns how many were new."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            before = self._db.total_changes
            self._db.executemany("INSERT OR IGNORE INTO queue (id, text) VALUES (?, ?)", documents)
            return self._db.total_changes - before

    def pending(self, limit: int) -> list[tuple[str, str]]:
        """Queued documents not answered yet, in the order they were queued."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, text FROM queue WHERE id NOT IN (SELECT id FROM answers) "
                "ORDER BY seq LIMIT ?",
                (limit,),
            )
            return [(str(i), str(t)) for i, t in rows.fetchall()]

    def queued(self) -> tuple[int, int]:
        """(queued, of them answered)."""
        with self._lock:
            total, done = self._db.execute(
                "SELECT count(*), count(a.id) FROM queue q LEFT JOIN answers a ON a.id = q.id"
            ).fetchone()
            return int(total), int(done)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _spans(given: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    return {p: (int(s), int(e)) for p, (s, e) in given.items()}
