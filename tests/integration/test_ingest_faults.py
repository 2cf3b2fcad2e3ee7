"""Damaged input files through ``extract.ingest``: every line accounted for once.

Each example is a JSON-lines file mixing valid records (with values at every type's
edges, some of which a column cannot hold) and damaged lines (other encodings, bytes
that are not UTF-8, wrong JSON shapes, cut-off records, lone surrogates, lines over
the size limit, blank lines, CRLF). After loading, the test checks what the records
say must happen: a storable record is the last word for its key and reads back equal,
an unstorable or damaged one is in the quarantine, every row read back is a valid
model, the counts add up, and loading the file again under another name adds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

import extract
from tests import fault_counts
from tests.integration.ingest_support import kill_then_finish
from tests.integration.test_ingest_storable import (
    BIG,
    Edge,
    as_model,
    comparable,
    quarantined,
    read_back,
)

MAX_LINE = 600  # max_line_bytes for these runs: long lines stay cheap


@dataclass
class Line:
    content: bytes  # without its line end
    sqlite: str  # what must happen on SQLite: "load", "quarantine" or "any"
    postgresql: str
    record: dict[str, Any] | None = None  # a rendered record: what must read back
    unique_key: bool = False  # give it a key no other line has


def _ok(sqlite: bool, postgresql: bool) -> tuple[bool, bool]:
    return sqlite, postgresql


# Values with whether SQLite and PostgreSQL can store them.
FITS = _ok(True, True)
INT_EDGES = st.sampled_from(
    [(0, FITS), (BIG - 1, FITS), (-BIG, FITS), (2**53 + 1, FITS)]
    + [(v, _ok(False, False)) for v in (BIG, -BIG - 1, 2**64, 10**30, -(10**40))]
)
FLOAT_EDGES = st.sampled_from(
    [(v, FITS) for v in (-0.0, 5e-324, 2.2250738585072014e-308, 1e308, -1.7976931348623157e308)]
    + [(math.inf, FITS), (-math.inf, FITS), (math.nan, _ok(False, True))]
)
FINITE = st.floats(allow_nan=False, allow_infinity=False).map(lambda v: (v, FITS))
DECIMALS = st.sampled_from(
    [
        ("1E+131072", _ok(True, False)),
        ("1E-16384", _ok(True, False)),
        ("1E+131071", FITS),
        ("-0.000", FITS),
        ("123456789012345678901234567890.000000000001", FITS),
        ("NaN", _ok(False, False)),  # not a valid Decimal field: a validation failure
    ]
) | st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**20), max_value=10**20).map(
    lambda d: (str(d), FITS)
)
OFFSETS = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
    lambda m: dt.timezone(dt.timedelta(minutes=m))
)
DATETIMES = st.sampled_from(
    [
        ("0001-01-01T00:00:00+05:00", _ok(True, False)),
        ("9999-12-31T23:00:00-05:00", _ok(True, False)),
        ("0001-01-03T00:00:00", FITS),
    ]
) | st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 1, 1), timezones=OFFSETS).map(
    lambda d: (d.isoformat(), FITS)
)
TIMES = st.sampled_from(
    [("01:00:00+16:00", _ok(True, False)), ("23:59:59.999999-15:59", FITS), ("00:00:00", FITS)]
)
NAMES = st.text(st.characters(exclude_categories=("Cs",)), max_size=12).map(
    lambda s: (s, _ok(True, "\x00" not in s))
)


def _json_float(value: float) -> tuple[bool, bool]:
    return FITS if math.isfinite(value) else _ok(False, False)  # JSON has no NaN


PARTS = st.lists(
    st.tuples(
        st.integers() | INT_EDGES.map(lambda e: e[0]),  # any integer: JSON holds it
        (FLOAT_EDGES | FINITE).map(lambda e: e[0]),
    ),
    max_size=3,
).map(
    lambda parts: (
        [{"qty": q, "size": s} for q, s in parts],
        _all(_json_float(s) for _, s in parts),
    )
)


def _all(flags: Any) -> tuple[bool, bool]:
    flags = list(flags)
    return all(f[0] for f in flags), all(f[1] for f in flags)


@st.composite
def records(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[bool, bool], str]:
    """A record, whether each database can store it, and how its key is chosen."""
    record: dict[str, Any] = {}
    flags = []
    key = draw(st.sampled_from(["unique", "shared", "edge"]))
    if key == "shared":  # a few keys for many lines: duplicates and updates
        record["id"] = draw(st.integers(0, 3))
    elif key == "edge":
        record["id"], fit = draw(INT_EDGES)
        flags.append(fit)
    for name, values in [
        ("name", NAMES),
        ("price", FLOAT_EDGES | FINITE),
        ("count", INT_EDGES | st.integers(-BIG, BIG - 1).map(lambda v: (v, FITS))),
        ("amount", DECIMALS),
        ("at", DATETIMES),
        ("opens", TIMES),
        ("parts", PARTS),
    ]:
        if name == "name" or draw(st.booleans()):
            record[name], fit = draw(values)
            flags.append(fit)
    return record, _all(flags), key


def _render(record: dict[str, Any], compact: bool, ascii_only: bool) -> str:
    separators = (",", ":") if compact else (", ", ": ")
    return json.dumps(record, separators=separators, ensure_ascii=ascii_only)  # NaN as Python


@st.composite
def good_lines(draw: st.DrawFn) -> Line:
    record, (sqlite, pg), key = draw(records())
    line = Line(b"", "load" if sqlite else "quarantine", "load" if pg else "quarantine", record)
    line.unique_key = key == "unique"
    line.content = _render(record, draw(st.booleans()), draw(st.booleans())).encode()
    return line


def _quarantined(content: bytes) -> Line:
    return Line(content.replace(b"\n", b" "), "quarantine", "quarantine")


@st.composite
def damaged_lines(draw: st.DrawFn) -> Line:
    """A line that must be quarantined, whatever the database."""
    record, _, _ = draw(records())
    text = _render({"id": 7, **record}, True, True)
    kind = draw(st.sampled_from(["utf16", "latin1", "bytes", "cut", "shape", "surrogate", "long"]))
    if kind == "utf16":  # the byte-order mark alone is not UTF-8
        return _quarantined(text.encode(draw(st.sampled_from(["utf-16", "utf-32"]))))
    if kind == "latin1":
        return _quarantined(text.replace("}", ', "note": "caf\u00e9"}').encode("latin-1"))
    if kind == "bytes":
        raw = draw(st.binary(max_size=40))
        return _quarantined(raw[: len(raw) // 2] + b"\xff" + raw[len(raw) // 2 :])
    if kind == "cut":
        return _quarantined(text[: draw(st.integers(1, len(text) - 1))].encode())
    if kind == "shape":
        shape = draw(
            st.sampled_from(
                [
                    "[]",
                    f"[{text}]",
                    "1",
                    "-1e999",
                    '"text"',
                    json.dumps(text),
                    "null",
                    "true",
                    "{}",
                    '{"id": "x"}',
                    '{"id": 1, "parts": {"qty": 1}}',
                    '{"id": 1, "price": "x"}',
                    '{"id": [1]}',
                    '{"id": 1e400}',
                ]
            )
        )
        return _quarantined(shape.encode())
    if kind == "surrogate":  # last, so that no later "name" takes its place
        return _quarantined((text[:-1] + ', "name": "\\ud800x"}').encode())
    padding = "x" * draw(st.integers(MAX_LINE, 3 * MAX_LINE))
    return _quarantined(text.replace("{", f'{{"pad": "{padding}", ', 1).encode())


@st.composite
def any_lines(draw: st.DrawFn) -> Line:
    """A line whose fate is not known in advance: it must just be accounted for."""
    choice = draw(st.sampled_from(["bytes", "text", "mutated"]))
    if choice == "bytes":
        content = draw(st.binary(max_size=60))
    elif choice == "text":
        content = draw(st.text(max_size=40)).encode("utf-8", "surrogatepass")
    else:
        record, _, _ = draw(records())
        text = _render({"id": 5_000_000, **record}, True, draw(st.booleans()))
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        insert = draw(st.sampled_from(["", ",", "}", '"', "\\", "\x00", "NaN", "\r", " "]))
        content = (text[:at] + insert + text[at + cut :]).encode("utf-8", "surrogatepass")
    return Line(content.replace(b"\n", b" "), "any", "any")


BLANK = st.sampled_from([b"", b" ", b"\t", b"\r", b" \r "]).map(lambda b: Line(b, "blank", "blank"))
LINES = st.lists(
    st.one_of(good_lines(), good_lines(), damaged_lines(), any_lines(), BLANK), max_size=25
)


def _is_blank(content: bytes, end: bytes) -> bool:
    """What the reader skips: a short line that decodes and holds only whitespace."""
    if len(content + end) > MAX_LINE + 1:
        return False
    try:
        return not content.decode("utf-8").rstrip("\r\n").strip()
    except UnicodeDecodeError:
        return False


def check_file_ingest(
    url: str, folder: Path, lines: list[Line], ends: list[bytes], batch_size: int
) -> None:
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    for position, line in enumerate(lines, 1):  # keys no other line uses
        if line.unique_key and line.record is not None:
            line.record["id"] = 1_000_000 + position
            line.content = _render(line.record, True, True).encode()
    path = folder / f"{uuid.uuid4().hex}.jsonl"
    path.write_bytes(b"".join(line.content + end for line, end in zip(lines, ends, strict=True)))
    table = f"t_{uuid.uuid4().hex[:12]}"
    report = extract.ingest(
        Edge, path, into=url, table=table, batch_size=batch_size, max_line_bytes=MAX_LINE
    )
    records_in = [
        p
        for p, (line, end) in enumerate(zip(lines, ends, strict=True), 1)
        if not _is_blank(line.content, end)
    ]
    fate = {p: getattr(lines[p - 1], dialect) for p in records_in}
    assert report.accounted and report.read == len(records_in)
    rows = read_back(Edge, url, table)
    bad = quarantined(url, table)
    assert len(rows) == report.loaded and len(bad) == report.quarantined
    bad_positions = [q["position"] for q in bad]
    row_positions = [int(r["_source"].rsplit(":", 1)[1]) for r in rows]
    assert len(set(bad_positions)) == len(bad_positions)
    assert set(bad_positions) <= set(records_in) and set(row_positions) <= set(records_in)
    assert not set(bad_positions) & set(row_positions)  # loaded or quarantined, not both
    assert {r["_source"].rsplit(":", 1)[0] for r in rows} <= {str(path.resolve())}
    # The lines neither quarantined nor a row's source are duplicates or updates.
    assert report.read - len(bad) - len(rows) == report.duplicates + report.updated
    for position, expected in fate.items():
        if expected == "quarantine":
            assert position in bad_positions, (position, lines[position - 1])
        elif expected == "load":
            assert position not in bad_positions, (position, lines[position - 1], bad)
    by_key = {row["id"]: row for row in rows}
    last: dict[int, int] = {}  # key -> the last line that must load with it
    for position, expected in fate.items():
        record = lines[position - 1].record
        if expected == "load" and record is not None:
            last[record["id"]] = position
    for key, position in last.items():
        row = by_key[key]
        source = int(row["_source"].rsplit(":", 1)[1])
        sent = Edge.model_validate(lines[position - 1].record)
        if source <= position:  # an earlier source holds the same content: a duplicate
            utc = dialect == "postgresql"
            back = comparable(as_model(Edge, row).model_dump(), utc)
            assert back == comparable(sent.model_dump(), utc)
        else:  # overwritten by a later line whose fate was not known
            assert source > position and fate[source] == "any"
    for row in rows:
        as_model(Edge, row)  # every row reads back as a valid Edge
    # Again, under another name for the same file: nothing is added or lost.
    alias = folder / f"{path.stem}-link.jsonl"
    alias.symlink_to(path)
    again = extract.ingest(
        Edge, alias, into=url, table=table, batch_size=batch_size, max_line_bytes=MAX_LINE
    )
    assert again.accounted and again.read == report.read and again.loaded == 0
    assert len(quarantined(url, table)) == len(bad)
    assert _contents(read_back(Edge, url, table)) == _contents(rows)
    damaged = sum(1 for p in records_in if fate[p] != "load")
    fault_counts.record(
        "ingest-fuzz",
        inputs=len(records_in),
        faults=damaged,
        accounted=report.loaded + report.updated + report.duplicates + report.quarantined,
    )


def _contents(rows: list[dict[str, Any]]) -> dict[int, tuple[Any, str]]:
    return {r["id"]: (comparable(as_model(Edge, r).model_dump()), r["_source"]) for r in rows}


FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ENDS = st.lists(st.sampled_from([b"\n", b"\r\n"]), min_size=25, max_size=25)


@settings(FUZZ, max_examples=60)
@given(lines=LINES, ends=ENDS, batch_size=st.integers(1, 8))
def test_damaged_files_into_sqlite_lose_nothing(
    tmp_path: Path, lines: list[Line], ends: list[bytes], batch_size: int
) -> None:
    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    check_file_ingest(url, tmp_path, lines, ends[: len(lines)], batch_size)


@settings(FUZZ, max_examples=20)
@given(lines=LINES, ends=ENDS, batch_size=st.integers(1, 8))
def test_damaged_files_into_postgresql_lose_nothing(
    postgresql_url: str, tmp_path: Path, lines: list[Line], ends: list[bytes], batch_size: int
) -> None:
    check_file_ingest(postgresql_url, tmp_path, lines, ends[: len(lines)], batch_size)


def test_cli_quarantines_an_integer_beyond_64_bits(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text(
        "from pydantic import BaseModel\nclass Item(BaseModel):\n    sku: str\n    qty: int\n"
    )
    data = tmp_path / "items.jsonl"
    data.write_text('{"sku": "a", "qty": 100000000000000000000}\n{"sku": "b", "qty": 1}\n')
    url = f"sqlite:///{tmp_path / 'items.db'}"
    command = [sys.executable, "-m", "extract", "ingest", "--schema", "models:Item"]
    for _ in range(2):  # and again: the rerun neither crashes nor adds anything
        done = subprocess.run(
            [*command, "--into", url, str(data)],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr and "1 quarantined" in done.stderr
    (bad,) = quarantined(url, "item")
    assert bad["position"] == 1 and "range" in bad["reason"] and "64-bit" in bad["reason"]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT sku FROM item")).scalars().all() == ["b"]
    engine.dispose()


@pytest.mark.parametrize("content", [b'{"id": 1, "count": 1e20}', b'{"id": 1, "count": 10e18}'])
def test_an_integer_spelled_as_a_float_beyond_64_bits_is_quarantined(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(content + b"\n")
    report = extract.ingest(Edge, path, into=f"sqlite:///{tmp_path / 'f.db'}", table="f")
    assert report.accounted and report.quarantined == 1


def test_cli_killed_at_random_points_then_rerun_accounts_for_every_line_once(
    tmp_path: Path,
) -> None:
    rng = random.Random(20261207)  # random kill points, the same every run
    (tmp_path / "models.py").write_text(
        "from pydantic import BaseModel, Field\n"
        "class Reading(BaseModel):\n"
        "    sensor: str = Field(json_schema_extra={'primary_key': True})\n"
        "    value: int\n"
    )
    data = tmp_path / "readings.jsonl"
    n, kinds = 30_000, ["ok"] * 7 + ["json", "bytes", "range"]
    with data.open("wb") as f:
        for i in range(n):
            kind = kinds[i % len(kinds)]
            if kind == "json":
                f.write(b"{oops\n")
            elif kind == "bytes":
                f.write(b'{"sensor": "s\xff", "value": 1}\n')
            else:
                value = 10**20 if kind == "range" else i
                f.write(json.dumps({"sensor": f"s{i}", "value": value}).encode() + b"\n")
    url = f"sqlite:///{tmp_path / 'r.db'}"
    command = [sys.executable, "-m", "extract", "ingest", "--schema", "models:Reading",
               "--into", url, "--batch-size", "200", str(data)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    kills, final = kill_then_finish(command, tmp_path, env, rng)
    assert final.returncode == 0, final.stderr
    rows = read_back(Reading, url, "reading")
    bad = quarantined(url, "reading")
    positions = sorted(
        [int(r["_source"].rsplit(":", 1)[1]) for r in rows] + [q["position"] for q in bad]
    )
    assert positions == list(range(1, n + 1))  # every line once: loaded or quarantined
    assert len(bad) == 3 * n // 10 and {r["sensor"] for r in rows} == {
        f"s{i}" for i in range(n) if kinds[i % len(kinds)] == "ok"
    }
    assert kills >= 2  # the test killed runs that had work left
    fault_counts.record("ingest-kill", inputs=n, faults=kills, accounted=len(positions))


class Reading(BaseModel):
    sensor: str = Field(json_schema_extra={"primary_key": True})
    value: int
