"""`extract run` under damaged input and `kill -9`: every input line is accounted for
exactly once (a value or an error line naming it), and nothing crashes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import extract
from extract.apps.cli import main
from extract.apps.review import load_items
from extract.features.batch import Document, read_inputs
from extract.features.batch._jsonl import read_json_lines
from tests.fault_counts import record

ROOT = Path(__file__).resolve().parents[2]

# One generated line: what it is, and the bytes written for it.
Line = tuple[str, bytes]


def good(ident: str, n: int) -> Line:
    return "good", (json.dumps({"id": ident, "text": f"doc {n} ok"}) + "\n").encode()


DAMAGE = {
    "not-utf8": b'{"id": "x", "text": "caf\xe9 \xff"}\n',
    "cut-off": b'{"id": "x", "text": "doc\n',
    "not-json": b"hello world\n",
    "not-object": b'["doc 1 ok"]\n',
    "no-text": b'{"id": "x"}\n',
    "text-not-string": b'{"id": "x", "text": 12}\n',
    "surrogate": b'{"id": "x", "text": "a \\ud800 b"}\n',
    "deep": b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "nul-in-json": b'{"id": "x", "text": "a\x00b"}\n',
    "latin1-file-line": '{"id": "x", "text": "\u00e9t\u00e9"}\n'.encode("latin-1"),
    "utf16-line": '{"id": "x", "text": "t"}'.encode("utf-16") + b"\n",
}
BLANK = (b"\n", b"   \n", b"\r\n", b"\t\n")


@st.composite
def jsonl_files(draw: Any) -> list[Line]:
    """Lines of a JSON Lines file: good records (ids unique unless a repeat is drawn),
    damaged lines of every kind, blank lines, CRLF endings and a missing last newline."""
    lines: list[Line] = []
    given_ids: list[str] = []
    for n in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["good"] * 4 + ["damaged", "blank", "repeat", "crlf"]))
        if kind == "damaged":
            name = draw(st.sampled_from(sorted(DAMAGE)))
            lines.append((name, DAMAGE[name]))
        elif kind == "blank":
            lines.append(("blank", draw(st.sampled_from(BLANK))))
        elif kind == "repeat" and given_ids:
            ident = draw(st.sampled_from(given_ids))
            lines.append(("repeat", good(ident, n)[1]))
        else:
            ident = f"d{n}"
            given_ids.append(ident)
            line = good(ident, n)
            if kind == "crlf":
                line = ("good", line[1].replace(b"\n", b"\r\n"))
            lines.append(line)
    if lines and draw(st.booleans()):  # the last line without its newline
        kind, data = lines[-1]
        lines[-1] = (kind, data.rstrip(b"\r\n") if kind != "blank" else data)
    if draw(st.booleans()):  # a byte order mark before the first line
        lines.insert(0, ("blank", b"\xef\xbb\xbf\n"))
    return lines


def expected_outcomes(path: Path, lines: list[Line]) -> dict[str, str]:
    """Output id -> "value" or the line number an error line must name."""
    expected: dict[str, str] = {}
    for number, (kind, data) in enumerate(lines, 1):
        if kind == "good":
            expected[json.loads(data.decode())["id"]] = "value"
        elif kind == "repeat":
            expected[f"{path}:{number}"] = "repeats the id"
        elif kind != "blank":
            expected[f"{path}:{number}"] = f"line {number} "
    return expected


@settings(max_examples=40)
@given(lines=jsonl_files())
def test_every_line_of_a_damaged_file_is_one_value_or_one_error(
    tmp_path_factory: pytest.TempPathFactory, lines: list[Line]
) -> None:
    folder = tmp_path_factory.mktemp("run")
    path = folder / "docs.jsonl"
    path.write_bytes(b"".join(data for _, data in lines))
    out = folder / "out.jsonl"
    args = [
        "run",
        "--schema",
        "tests.batch_fakes:Item",
        "--backend",
        "tests.batch_fakes:FaultyBackend",
    ]
    code = main([*args, "--input", str(path), "--output", str(out), "--no-cache", "--quiet"])
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    expected = expected_outcomes(path, lines)
    # Blank lines and lines that are only whitespace hold no document; nothing else may
    # vanish, and nothing may come out twice.
    produced = Counter(line["id"] for line in written)
    assert all(count == 1 for count in produced.values()), produced
    assert set(produced) == set(expected)
    for line in written:
        if expected[line["id"]] == "value":
            assert "value" in line, line
        else:
            assert line["error"].startswith("InputError: "), line
            assert expected[line["id"]] in line["error"], line
    assert code == (1 if any("error" in line for line in written) else 0)
    damaged = sum(kind not in ("good", "blank") for kind, _ in lines)
    record("run-fuzz", inputs=len(expected), faults=damaged, accounted=len(written))


@settings(max_examples=25)
@given(lines=jsonl_files())
def test_review_inputs_name_every_line_they_cannot_read(
    tmp_path_factory: pytest.TempPathFactory, lines: list[Line]
) -> None:
    folder = tmp_path_factory.mktemp("review")
    path = folder / "docs.jsonl"
    path.write_bytes(b"".join(data for _, data in lines))
    documents = [entry for entry in read_inputs([str(path)]) if isinstance(entry, Document)]
    data = folder / "predictions.jsonl"
    data.write_text("".join(json.dumps({"id": d.id, "value": {"n": 1}}) + "\n" for d in documents))
    expected = expected_outcomes(path, lines)
    bad = {ident for ident, what in expected.items() if what != "value"}
    if not documents and not bad:
        return  # nothing to review: covered by the review tests
    try:
        items = load_items(data, [str(path)])
    except extract.UsageError as exc:
        message = str(exc)
        named = {ident for ident in bad if f"input {ident}:" in message}
        assert len(named) == min(len(bad), 20), message
        if len(bad) > 20:
            assert f"and {len(bad) - 20} more" in message
        # The start is refused with every bad line named (past 20, counted): no
        # record is served, none is passed over in silence.
        record("review-input-fuzz", inputs=len(expected), faults=len(bad), accounted=len(expected))
        return
    assert not bad
    assert [item.id for item in items] == [d.id for d in documents]
    record("review-input-fuzz", inputs=len(expected), faults=0, accounted=len(items))


@settings(max_examples=40)
@given(lines=jsonl_files())
def test_documents_for_a_learning_review_name_every_line_they_cannot_read(
    tmp_path_factory: pytest.TempPathFactory, lines: list[Line]
) -> None:
    """``extract review --learn`` reads ``{"id", "text"}`` lines with no values: every
    damaged line is named (or the file is served whole), never a crash."""
    path = tmp_path_factory.mktemp("learn") / "docs.jsonl"
    path.write_bytes(b"".join(data for _, data in lines))
    expected = expected_outcomes(path, lines)
    bad = [ident for ident, what in expected.items() if what != "value"]
    try:
        items = load_items(path, predicted=False)
    except extract.UsageError as exc:
        message = str(exc)
        named = [ident for ident in bad if f"{ident}:" in message]
        assert len(named) == min(len(bad), 20), message
        record("review-input-fuzz", inputs=len(expected), faults=len(bad), accounted=len(expected))
        return
    assert not bad, bad
    assert [item.id for item in items] == list(expected)
    for item in items:
        item.text.encode("utf-8")  # the page can be written
    record("review-input-fuzz", inputs=len(expected), faults=0, accounted=len(items))


def test_a_bad_byte_mid_file_costs_that_line_only(tmp_path: Path) -> None:
    """2,000 lines, one byte that is not UTF-8 on line 1,000: 1,999 values, one error."""
    path = tmp_path / "docs.jsonl"
    lines = [json.dumps({"id": f"d{i}", "text": f"doc {i} ok"}).encode() for i in range(1, 2001)]
    lines[999] = b'{"id": "d1000", "text": "doc 1000 \xff ok"}'
    path.write_bytes(b"\n".join(lines) + b"\n")
    entries = list(read_inputs([str(path)]))
    failed = [e for e in entries if not isinstance(e, Document)]
    assert len(entries) == 2000 and len(failed) == 1
    assert failed[0].id == f"{path}:1000"
    assert failed[0].error == ("InputError: line 1000 is not UTF-8 (byte 0xff at column 35)")
    out = tmp_path / "out.jsonl"
    args = [
        "run",
        "--schema",
        "tests.batch_fakes:Item",
        "--backend",
        "tests.batch_fakes:FaultyBackend",
    ]
    assert main([*args, "--input", str(path), "--output", str(out), "--no-cache", "--quiet"]) == 1
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert sum("value" in line for line in written) == 1999
    assert [line["id"] for line in written if "error" in line] == [f"{path}:1000"]


def test_messages_name_the_line_of_the_file() -> None:
    lines = [
        b'{"id": "a", "text": "doc 1 ok"}\n',
        b"\n",
        b'{"id": "b", "text": "doc 2 ok"\n',
        b'{"id": "c", "text": "doc 3 ok"} x\n',
        b'{"id": "a", "text": "doc 5 ok"}\n',
        b'{"id": "a", "text": "doc 6 ok"}\n',
    ]
    problems = [(line.number, line.problem) for line in read_json_lines(lines)]
    assert problems == [
        (1, None),
        (3, "not JSON: Expecting ',' delimiter at the end of the line"),
        (4, "not JSON: Extra data at column 33"),
        (5, None),
        (6, None),
    ]
    records = [
        {"id": "a", "text": "t", "where": "f.jsonl:1"},
        {"id": "a", "text": "t", "where": "f.jsonl:6"},
    ]
    outcomes = list(extract.features.batch.documents(records))
    assert outcomes[1].error == "UsageError: f.jsonl:6 repeats the id 'a' of f.jsonl:1"
    positional = list(extract.features.batch.documents([("a", "t"), ("b", "t"), ("a", "t")]))
    assert positional[2].error == "UsageError: input 2 repeats the id 'a' of input 0"


def test_a_huge_line_is_reported_unread() -> None:
    lines = list(
        read_json_lines(
            __import__("io").BytesIO(b'{"text": "a"}\n' + b"x" * 5000 + b"\n{}\n"),
            max_line_bytes=1000,
        )
    )
    assert [(line.number, line.problem) for line in lines] == [
        (1, None),
        (2, "longer than 1000 bytes"),
        (3, None),
    ]


# -- kill -9 at random points, then a rerun ------------------------------------------


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "extract", "run", "--schema", "tests.batch_fakes:Item"]
    return subprocess.Popen(
        [*command, "--backend", "tests.batch_fakes:slow_backend", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_at_random_points_every_line_still_comes_out_once(tmp_path: Path) -> None:
    rng = random.Random(20261204)  # the kill points are random but the same every run
    path = tmp_path / "docs.jsonl"
    fates = ["ok", "ok", "invalid", "ok", "crash"]
    with open(path, "wb") as f:
        for i in range(120):
            f.write(json.dumps({"id": f"d{i}", "text": f"doc {i} {fates[i % 5]}"}).encode())
            f.write(b"\n" if i % 17 else b"\xff\n")  # a damaged byte now and then
    ids = [f"d{i}" if i % 17 else f"{path}:{i + 1}" for i in range(120)]
    out = tmp_path / "out.jsonl"
    args = ["--input", str(path), "--output", str(out), "--max-retries", "0", "--quiet"]
    env = {"EXTRACT_CACHE": str(tmp_path / "cache.sqlite"), "FAKE_DELAY": "0.01"}
    kills = 0
    for _ in range(4):
        proc = _cli(args, env)
        time.sleep(rng.uniform(0.5, 2.5))  # the start-up is part of the time at risk
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=60)
    final = _cli(args, env)
    final.communicate(timeout=120)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert Counter(line["id"] for line in lines) == Counter(ids)  # no gaps, no duplicates
    assert kills >= 2  # the test killed runs that had work left
    record("run-kill", inputs=len(ids), faults=kills, accounted=len(lines))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(st.characters(codec=None)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300)
@given(value=JSON_VALUES)
def test_a_json_line_is_one_line_for_every_reader_and_reads_back(value: Any) -> None:
    from extract.features.batch import json_line

    line = json_line(value)
    assert len(line.splitlines()) == 1 and "\n" not in line  # U+0085, U+2028: escaped
    assert json.loads(line) == value
    (read,) = read_json_lines([(line + "\n").encode("utf-8")])  # always encodable
    assert read.problem is None and read.value == value


# A table's text cells as users' frames hold them: texts with each fate, and what a
# column of text should not hold (nulls, NaN, numbers, bytes).
CELLS = st.one_of(
    st.sampled_from(["doc 1 ok", "doc 2 invalid", "doc 3 crash", "doc 4 provider", "doc 5 ok"]),
    st.sampled_from([None, float("nan"), 7, b"doc 6 ok", ""]),
)


@given(cells=st.lists(CELLS, max_size=25), kind=st.sampled_from(["pandas", "polars", "arrow"]))
def test_every_row_of_a_damaged_frame_is_one_value_or_one_error(
    cells: list[Any], kind: str
) -> None:
    """run_many over a pandas or polars frame or an Arrow table with damaged text cells:
    each row comes out once, in order, a bad cell as that row's InputError."""
    from tests.batch_fakes import FaultyBackend, Item

    columns = {"id": [f"r{i}" for i in range(len(cells))], "text": cells}
    frame = _frame(kind, columns)
    if frame is None:
        return  # a cell mix the library itself cannot build a table from: not our input
    outcomes = list(
        extract.Extractor(FaultyBackend()).run_many(Item, frame, max_retries=0, concurrency=3)
    )
    assert [o.id for o in outcomes] == columns["id"]
    held = _texts(kind, frame)  # what the table holds (a library may have cast a cell)
    bad = 0
    for cell, outcome in zip(held, outcomes, strict=True):
        if not isinstance(cell, str) or not cell:
            assert not outcome.ok
            bad += 1
        if isinstance(cell, str) and cell.endswith("ok"):
            assert outcome.ok, outcome.error
    record("frame-fuzz", inputs=len(cells), faults=bad, accounted=len(outcomes))


def _texts(kind: str, frame: Any) -> list[Any]:
    if kind == "arrow":
        return list(frame.column("text").to_pylist())
    return list(frame["text"].to_list())


def _frame(kind: str, columns: dict[str, list[Any]]) -> Any:
    try:
        if kind == "pandas":
            import pandas

            return pandas.DataFrame(columns)
        if kind == "polars":
            import polars

            return polars.DataFrame(columns, strict=False)
        import pyarrow

        return pyarrow.table(columns)
    except (TypeError, ValueError, OverflowError, ArithmeticError) as exc:
        if type(exc).__module__.split(".")[0] in ("pyarrow", "polars", "pandas", "builtins"):
            return None
        raise
    except Exception as exc:  # the libraries' own errors for a mix they cannot type
        if type(exc).__module__.split(".")[0] in ("pyarrow", "polars"):
            return None
        raise
