"""Documents named by paths: files, folders, globs, JSON Lines and Parquet files, each
document once, and what cannot be read as a failed outcome saying why."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from extract.core._errors import DocumentError, InputError
from extract.features.documents import load

from ._engine import Document, Outcome, documents
from ._jsonl import read_json_lines

_GLOB = set("*?[")


def read_inputs(specs: Iterable[str]) -> Iterator[Document | Outcome[Any]]:
    """Every document named by ``specs``, in order; what cannot be read is a failed
    outcome with the reason, never a crash.

    A ``.jsonl`` file gives one document per line (``{"id": ..., "text": ...}``; the id
    defaults to ``FILE:LINE``), a ``.parquet`` file one per row (``text`` and optional
    ``id`` columns; ``FILE:ROW``); a folder gives each file under it; a glob each match;
    any other file is one document whose id is its path, read by the kind its content
    shows (PDF, HTML, e-mail or UTF-8 text, ``extract.load``).
    """
    return documents(_records(specs), kind=InputError.__name__)


def _bad(ident: str, message: str) -> Outcome[Any]:
    return Outcome.failed(ident, InputError.__name__, message)


def _records(specs: Iterable[str]) -> Iterator[dict[str, Any] | Outcome[Any]]:
    for spec in specs:
        paths = expand(spec)
        if not paths:
            yield _bad(spec, f"no file matches {spec!r}")
        for path in paths:
            if path.endswith(".jsonl"):
                yield from _jsonl_records(path)
            elif path.endswith(".parquet"):
                yield from _parquet_records(path)
            else:
                yield _file_record(path)


def expand(spec: str) -> list[str]:
    """The files one ``--input`` names: a glob's matches, a folder's files (hidden ones
    left out), or the path itself."""
    if any(c in _GLOB for c in spec) and not os.path.exists(spec):
        return sorted(p for p in glob.glob(spec, recursive=True) if os.path.isfile(p))
    if os.path.isdir(spec):
        return sorted(
            str(p)
            for p in Path(spec).rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(spec).parts)
        )
    return [spec]


def count_inputs(specs: Iterable[str]) -> int:
    """About how many documents ``read_inputs`` will give (for the ETA), without
    parsing: a file counts one, a ``.jsonl`` file its non-blank lines."""
    total = 0
    for spec in specs:
        for path in expand(spec) or [spec]:
            if path.endswith(".parquet"):
                total += _parquet_rows(path)
                continue
            if not path.endswith(".jsonl"):
                total += 1
                continue
            try:
                with open(path, "rb") as f:
                    total += sum(1 for line in f if line.strip())
            except OSError:
                total += 1
    return total


def _file_record(path: str) -> dict[str, Any] | Outcome[Any]:
    """Any other file, read by its kind (PDF, HTML, e-mail, text: ``extract.load``)."""
    try:
        document = load(path, name=path)
    except DocumentError as exc:
        return _bad(path, f"cannot read {path}: {str(exc).removeprefix(path + ': ')}")
    return {"id": path, "text": document.text, "where": path, "source": document}


def json_lines(lines: Iterable[bytes | str]) -> Iterator[tuple[int, Any, str | None]]:
    """The non-blank lines of a JSON Lines file: ``(line number, value, None)``, or
    ``(line number, None, why it cannot be read)``; see ``read_json_lines``."""
    for line in read_json_lines(lines):
        yield line.number, line.value, line.problem


def _jsonl_records(path: str) -> Iterator[dict[str, Any] | Outcome[Any]]:
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, read lazily
    except OSError as exc:
        yield _bad(path, f"cannot read {path}: {exc.strerror or exc}")
        return
    with f:
        for line in read_json_lines(f):
            where = f"{path}:{line.number}"
            record = line.value
            if line.problem is not None:
                yield _bad(where, f"line {line.number} is {line.problem}")
            elif not isinstance(record, dict) or not isinstance(record.get("text"), str):
                yield _bad(where, f'line {line.number} has no "text" string')
            elif (problem := not_text(record)) is not None:
                yield _bad(where, f"line {line.number} {problem}")
            else:
                given = record.get("id")
                ident = where if given is None else str(given)
                yield {"id": ident, "text": record["text"], "where": where}


def not_text(record: dict[str, Any]) -> str | None:
    """Why the id or text cannot be written back out as UTF-8: a lone surrogate
    (``"\\ud800"`` in the JSON) is not a character."""
    for name in ("id", "text"):
        value = record.get(name)
        if not isinstance(value, str):
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            code = ord(value[exc.start])
            return f'holds a lone surrogate (\\u{code:04x}) in its "{name}", which is not text'
    return None


def _parquet_records(path: str) -> Iterator[dict[str, Any] | Outcome[Any]]:
    """A Parquet file's rows: a ``text`` column and, optionally, ``id`` (default
    ``FILE:ROW``)."""
    try:
        import pyarrow.parquet
    except ImportError:
        message = "reading Parquet needs pyarrow: pip install 'structured-extract[tables]'"
        yield _bad(path, message)
        return
    try:
        table = pyarrow.parquet.ParquetFile(path)
        names = table.schema_arrow.names
    except Exception as exc:  # pyarrow raises several types for unreadable files
        yield _bad(path, f"cannot read {path}: {exc}")
        return
    if "text" not in names:
        yield _bad(path, f'{path} has no "text" column')
        return
    number = 0
    batches = table.iter_batches(columns=["text", *(["id"] if "id" in names else [])])
    while True:
        try:
            batch = next(batches, None)
        except Exception as exc:  # a damaged row group: the rest of the file is lost
            where = f"{path}:{number + 1}"
            yield _bad(where, f"cannot read {path} after row {number}: {exc}")
            return
        if batch is None:
            return
        for row in batch.to_pylist():
            number += 1
            fallback = f"{path}:{number}"
            if not isinstance(row["text"], str):
                yield _bad(fallback, f'row {number} has no "text" string')
                continue
            ident = fallback if row.get("id") is None else str(row["id"])
            yield {"id": ident, "text": row["text"], "where": fallback}


def _parquet_rows(path: str) -> int:
    try:
        import pyarrow.parquet

        table = pyarrow.parquet.ParquetFile(path)
        if "text" not in table.schema_arrow.names:
            return 1  # reported as one failed input
        return int(table.metadata.num_rows)
    except Exception:  # unreadable: reported as one failed input
        return 1
