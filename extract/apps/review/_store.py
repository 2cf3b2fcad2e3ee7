"""Review answers in SQLite, with the reviewed JSON Lines exported from them.

Each answer is one transaction, committed with ``synchronous=FULL`` before the page
moves on, and then the export is rewritten whole (a temporary file, fsync, rename), so
a crash at any moment leaves the database and a complete, older or newer, export. The
database keeps the documents' texts, so it alone can rebuild the export.

Every document has a version, raised by each answer and each undo. A page carries the
version it showed; an answer for another version is refused (``Conflict``), so two
tabs cannot overwrite each other's answers without seeing them. Undo takes back the
latest answer, whichever document it was, restoring what was there before.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from extract.core._errors import UsageError
from extract.features.batch import json_line

from ._load import Item

ANSWERS = ("accept", "correct", "reject", "skip")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    answer TEXT,            -- NULL: not answered (never, or undone)
    gold TEXT,              -- JSON of the record, NULL for reject and skip
    example INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 0,
    saved REAL
);
CREATE TABLE IF NOT EXISTS log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    answer TEXT, gold TEXT, example INTEGER NOT NULL, saved REAL  -- the state before
);
"""


class Conflict(Exception):
    """An answer for a version of the document that is no longer current."""


@dataclass(frozen=True)
class Saved:
    answer: str | None
    gold: Any  # JSON, None for reject/skip/unanswered
    example: bool
    version: int


class Store:
    def __init__(self, database: str | os.PathLike[str], out: str | os.PathLike[str]) -> None:
        self.out = os.fspath(out)
        self.path = os.fspath(database)
        try:
            # One thread at a time uses it (the server's event loop), not always the
            # thread that opened it.
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise UsageError(f"cannot open the review database {self.path}: {exc}") from exc
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.executescript(_SCHEMA)
        found = self.db.execute("SELECT value FROM meta WHERE key = 'token'").fetchone()
        if found is None:
            self.token = secrets.token_urlsafe(32)
            self.db.execute("INSERT INTO meta VALUES ('token', ?)", (self.token,))
        else:
            self.token = str(found[0])

    def close(self) -> None:
        self.db.close()

    def add(self, items: Sequence[Item]) -> None:
        """Register the documents under review (those already known keep their answers)."""
        with self._transaction():
            self.db.executemany(
                "INSERT INTO answers (id, position, text) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET position = excluded.position",
                [(item.id, item.position, item.text) for item in items],
            )

    def resume_from_export(self) -> int:
        """Take the answers of an existing export into a new database (one made by an
        earlier session whose database was removed); returns how many were taken."""
        if self.db.execute("SELECT 1 FROM answers WHERE answer IS NOT NULL").fetchone():
            return 0
        try:
            with open(self.out, encoding="utf-8") as f:
                rows = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return 0
        except (OSError, ValueError) as exc:
            raise UsageError(f"{self.out} exists but cannot be read back: {exc}") from exc
        taken = 0
        with self._transaction():
            for row in rows:
                if isinstance(row, dict) and row.get("answer") in ANSWERS and "id" in row:
                    gold = None if row.get("gold") is None else json.dumps(row["gold"])
                    taken += self.db.execute(
                        "UPDATE answers SET answer = ?, gold = ?, example = ?, version = 1 "
                        "WHERE id = ?",
                        (row["answer"], gold, int(bool(row.get("example"))), str(row["id"])),
                    ).rowcount
        return taken

    def state(self, ident: str) -> Saved:
        row = self.db.execute(
            "SELECT answer, gold, example, version FROM answers WHERE id = ?", (ident,)
        ).fetchone()
        if row is None:
            return Saved(None, None, False, 0)
        return Saved(row[0], None if row[1] is None else json.loads(row[1]), bool(row[2]), row[3])

    def answer(
        self, ident: str, version: int, answer: str, gold: Any = None, example: bool = False
    ) -> int:
        """Save an answer for the document shown at ``version``; the new version."""
        if answer not in ANSWERS:
            raise ValueError(f"unknown answer {answer!r}")
        with self._transaction():
            row = self.db.execute(
                "SELECT answer, gold, example, version, saved FROM answers WHERE id = ?", (ident,)
            ).fetchone()
            if row is None:
                raise KeyError(ident)
            if row[3] != version:
                raise Conflict(ident)
            self.db.execute(
                "INSERT INTO log (id, answer, gold, example, saved) VALUES (?, ?, ?, ?, ?)",
                (ident, row[0], row[1], row[2], row[4]),
            )
            self.db.execute(
                "UPDATE answers SET answer = ?, gold = ?, example = ?, version = version + 1, "
                "saved = ? WHERE id = ?",
                (
                    answer,
                    None if gold is None else json.dumps(gold, ensure_ascii=False),
                    int(example),
                    time.time(),
                    ident,
                ),
            )
        self.export()
        return version + 1

    def undo(self) -> str | None:
        """Take back the latest answer; the id of its document, None if there is none."""
        with self._transaction():
            row = self.db.execute(
                "SELECT seq, id, answer, gold, example, saved FROM log ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            self.db.execute("DELETE FROM log WHERE seq = ?", (row[0],))
            self.db.execute(
                "UPDATE answers SET answer = ?, gold = ?, example = ?, saved = ?, "
                "version = version + 1 WHERE id = ?",
                (row[2], row[3], row[4], row[5], row[1]),
            )
        self.export()
        return str(row[1])

    def progress(self) -> tuple[int, int]:
        done, total = self.db.execute("SELECT COUNT(answer), COUNT(*) FROM answers").fetchone()
        return int(done), int(total)

    def counts(self) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT answer, COUNT(*) FROM answers WHERE answer IS NOT NULL GROUP BY answer"
        )
        return {str(answer): int(n) for answer, n in rows}

    def open_positions(self) -> list[int]:
        rows = self.db.execute(
            "SELECT position FROM answers WHERE answer IS NULL ORDER BY position"
        )
        return [int(p) for (p,) in rows]

    def export(self) -> None:
        """Rewrite the reviewed JSON Lines from the database, atomically."""
        rows = self.db.execute(
            "SELECT id, text, gold, answer, example FROM answers "
            "WHERE answer IS NOT NULL ORDER BY position"
        )
        folder = os.path.dirname(os.path.abspath(self.out))
        temporary = f"{self.out}.tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            for ident, text, gold, answer, example in rows:
                line = {
                    "id": ident,
                    "text": text,
                    "gold": None if gold is None else json.loads(gold),
                    "answer": answer,
                    "example": bool(example),
                }
                f.write(json_line(line) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.out)
        if hasattr(os, "O_DIRECTORY"):  # the rename itself is durable once the folder is
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # BEGIN IMMEDIATE: one writer at a time, even with two servers on one database.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
