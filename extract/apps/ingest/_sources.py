"""Input records with their origin: a file and line, or a position in an iterable.

Reading never raises on bad data: a line that is too long, not UTF-8 or otherwise
unreadable becomes a record with a ``problem``, which the loader quarantines.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extract.core._errors import UsageError

# A line longer than this is quarantined unread: one runaway line must not exhaust memory.
MAX_LINE_BYTES = 16 * 1024 * 1024
_KEEP_OF_LONG_LINE = 1024  # what the quarantine keeps of it


@dataclass(slots=True)  # millions are made: slots, not frozen (which is slower to build)
class SourceRecord:
    source: str  # file path, or "<records>" for an iterable
    position: int  # 1-based line (files) or index + 1 (iterables)
    payload: Any  # str (JSON text), dict, or an extract.Result
    problem: str | None = None  # why it could not be read; payload is then raw text
    # Set once validated: the model instance, and whether its JSON had to be repaired.
    # (Kept on the record rather than in a wrapper: one object fewer per record.)
    value: Any = None
    repaired: bool = False
    # Set for an ``extract run`` output line or a Result: the whole line (kept for the
    # quarantine and the review table) and the confidence of each value.
    envelope: Any = None
    confidence: dict[str, float] | None = None


@dataclass(slots=True)
class Unsure:
    """A valid record holding values below ``min_confidence``: for the review table."""

    record: SourceRecord
    pointers: dict[str, float]  # the unsure values' pointers and confidences


@dataclass(slots=True)
class Invalid:
    """A record that goes to the quarantine, and why."""

    record: SourceRecord
    reason: str
    errors: list[dict[str, Any]]


def read(records: Any, *, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[SourceRecord]:
    """Records from a path (.jsonl, .json, .csv) or from an iterable of records."""
    if is_path(records):
        yield from read_file(Path(records), max_line_bytes=max_line_bytes)
        return
    if isinstance(records, (dict, bytes)):
        raise TypeError("records must be an iterable of records or a file path, not one record")
    for index, item in enumerate(_iterate(records), 1):
        if isinstance(item, bytes):
            try:
                item = item.decode("utf-8")
            except UnicodeDecodeError as exc:
                text = item.decode("utf-8", "backslashreplace")
                yield SourceRecord("<records>", index, text, f"not UTF-8: {exc}")
                continue
        yield SourceRecord("<records>", index, item)


def _iterate(records: Any) -> Iterable[Any]:
    if not isinstance(records, Iterable):
        raise TypeError(f"records must be iterable or a file path, not {type(records).__name__}")
    return records


def is_path(records: Any) -> bool:
    return isinstance(records, (str, os.PathLike))


def check_input(path: str | os.PathLike[str]) -> None:
    """``UsageError`` unless ``path`` is a file this process can read."""
    if os.path.isdir(path):
        raise UsageError(f"{os.fspath(path)} is a directory, not an input file")
    try:
        with open(path, "rb"):
            pass
    except FileNotFoundError:
        raise UsageError(f"no such input file: {os.fspath(path)}") from None
    except OSError as exc:
        raise UsageError(f"cannot read the input file {os.fspath(path)}: {exc.strerror}") from exc


def source_name(path: Path) -> str:
    """The file's resolved path, so that every spelling of it (relative, ``./``, a
    symlink) names the same source and its records are keyed once. Bytes a file name
    holds that are not UTF-8 are written as backslash escapes: the name is stored."""
    return os.fsencode(path.resolve()).decode("utf-8", "backslashreplace")


def read_file(path: Path, *, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[SourceRecord]:
    check_input(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _read_csv(path)
    elif suffix == ".json":
        yield from _read_json_array(path)
    else:  # .jsonl, .ndjson and anything else: one JSON record per line
        yield from _read_lines(path, max_line_bytes)


def _read_lines(path: Path, max_line_bytes: int) -> Iterator[SourceRecord]:
    source = source_name(path)
    with path.open("rb") as f:
        number = 0
        while True:
            line = f.readline(max_line_bytes + 1)
            if not line:
                return
            number += 1
            if len(line) > max_line_bytes and not line.endswith(b"\n"):
                kept = line[:_KEEP_OF_LONG_LINE].decode("utf-8", "backslashreplace")
                while line and not line.endswith(b"\n"):  # skip the rest of it
                    line = f.readline(max_line_bytes + 1)
                problem = f"line longer than {max_line_bytes} bytes (first {len(kept)} kept)"
                yield SourceRecord(source, number, kept, problem)
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raw = line.decode("utf-8", "backslashreplace").rstrip("\r\n")
                yield SourceRecord(source, number, raw, f"not UTF-8: {exc}")
                continue
            text = text.rstrip("\r\n")
            if text.strip():
                yield SourceRecord(source, number, text)


def _read_json_array(path: Path) -> Iterator[SourceRecord]:
    source = source_name(path)
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raw = path.read_bytes()[:_KEEP_OF_LONG_LINE].decode("utf-8", "backslashreplace")
        yield SourceRecord(source, 1, raw, f"not a JSON file: {exc}")
        return
    items = data if isinstance(data, list) else [data]
    for index, item in enumerate(items, 1):
        yield SourceRecord(source, index, item)


def _read_csv(path: Path) -> Iterator[SourceRecord]:
    """CSV with a header row; an empty cell is a missing value (the field's default)."""
    source = source_name(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raw = data[:_KEEP_OF_LONG_LINE].decode("utf-8", "backslashreplace")
        yield SourceRecord(source, 1, raw, f"not UTF-8: {exc}")
        return
    reader = csv.DictReader(io.StringIO(text, newline=""))
    for row in reader:
        line = reader.line_num
        if None in row:  # more cells than header columns
            yield SourceRecord(
                source, line, json.dumps(row, default=str), "more cells than columns"
            )
            continue
        yield SourceRecord(source, line, {k: _cell(v) for k, v in row.items() if v != ""})


def _cell(text: str) -> Any:
    """A CSV cell: JSON arrays and objects are parsed (lists, nested models); the rest
    stays text for the model to convert ("34" -> 34 where the field is an int)."""
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
