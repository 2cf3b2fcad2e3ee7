"""Output that survives a crash: JSON Lines appended, flushed per line and synced to disk,
resumed by id."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Collection
from typing import Any, TextIO

from extract.core._errors import UsageError

from ._jsonl import json_line


class ResumableOutput:
    """JSON Lines appended and flushed per line, synced to disk at least once a second.

    Opening an existing file keeps its complete lines, drops a last line cut off by a
    crash, and remembers the ids already written, so a rerun skips them. Error lines
    whose ids are in ``retry`` are taken out first (the file is rewritten whole, then
    swapped in), so those ids are extracted again and still appear once.
    """

    def __init__(self, path: str | None, retry: Collection[str] = ()) -> None:
        self.done: set[str] = set()
        self.dropped = 0  # error lines taken out for a retry
        self.path = path
        self._synced = time.monotonic()
        if path is None:
            self._file: TextIO = sys.stdout
            return
        # Checked before the first document: a run must not fail after its work is done.
        if os.path.isdir(path):
            raise UsageError(f"cannot write {path}: it is a directory")
        try:
            if os.path.exists(path):
                self._recover(path, retry)
            self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def _recover(self, path: str, retry: Collection[str]) -> None:
        with open(path, "rb+") as f:
            data = f.read()
            keep = data.rfind(b"\n") + 1  # a last line without "\n" was cut off
            if keep < len(data):
                f.truncate(keep)
        kept: list[bytes] = []
        for raw in data[:keep].splitlines(keepends=True):
            try:
                record = json.loads(raw)
            except ValueError:
                kept.append(raw)
                continue
            if not (isinstance(record, dict) and "id" in record):
                kept.append(raw)
            elif "error" in record and str(record["id"]) in retry:
                self.dropped += 1
            else:
                kept.append(raw)
                self.done.add(str(record["id"]))
        if self.dropped:
            staged = f"{path}.retry"
            with open(staged, "wb") as f:
                f.writelines(kept)
                f.flush()
                os.fsync(f.fileno())
            os.replace(staged, path)  # a crash leaves the old file or the new one, whole

    def write(self, line: dict[str, Any]) -> None:
        self._file.write(json_line(line) + "\n")
        self._file.flush()
        if self.path is not None and time.monotonic() - self._synced >= 1.0:
            os.fsync(self._file.fileno())
            self._synced = time.monotonic()

    def close(self) -> None:
        if self.path is None:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
