"""Database ingestion on SQLite and PostgreSQL: nothing lost, nothing twice."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

import extract
from extract.testing import FakeBackend, instances, llm_outputs
from tests.integration.ingest_support import new_table, table_rows


class Item(BaseModel):
    sku: str
    qty: int


class Order(BaseModel):
    id: int = Field(json_schema_extra={"primary_key": True})
    status: Literal["new", "paid"]
    placed: dt.datetime
    due: dt.date | None = None
    ref: uuid.UUID
    total: decimal.Decimal
    items: list[Item]
    note: str | None = None


class Reading(BaseModel):  # no key: rows are keyed by a hash of their content
    sensor: str
    value: float
    tags: list[str] = []


GOOD = {
    "id": 1,
    "status": "new",
    "placed": "2024-01-02T03:04:05+02:00",
    "ref": "12345678-1234-5678-1234-567812345678",
    "total": "12.50",
    "items": [{"sku": "a", "qty": 2}],
}


def _as_model(model: type[BaseModel], row: dict[str, Any]) -> BaseModel:
    return model.model_validate({k: row[k] for k in model.model_fields})


def test_every_line_is_loaded_or_quarantined_once(db: str, tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    with path.open("wb") as f:
        f.write(json.dumps(GOOD).encode() + b"\n")  # 1 loaded
        f.write(json.dumps({**GOOD, "id": 2, "status": "lost"}).encode() + b"\n")  # 2 invalid
        f.write(b"not json at all\n")  # 3 bad JSON
        f.write(b"\n")  # blank: not a record
        f.write(b'{"id": 3, \xff\xfe}\n')  # 5 not UTF-8
        f.write(b'{"id": 4, "status": "new"\x00}\n')  # 6 a raw NUL byte
        f.write(b'{"id": 5, "note": "' + b"x" * (50 * 1024 * 1024) + b'"}\n')  # 7 a 50 MB line
        f.write(("```json\n" + json.dumps({**GOOD, "id": 6}) + "\n```").encode() + b"\n")
        f.write(json.dumps({**GOOD, "id": 7, "note": "nul \u0000 inside"}).encode() + b"\n")
        f.write(json.dumps(GOOD).encode() + b"\n")  # a repeat of line 1
    table = new_table()
    first = extract.ingest(Order, path, into=db, table=table, batch_size=3)
    assert first.accounted
    assert first.read == 11  # 12 lines, one blank
    loaded_ids = {r["id"] for r in table_rows(db, table)}
    quarantined = table_rows(db, f"{table}__quarantine")
    positions = {q["position"] for q in quarantined}
    # The fence and its JSON are three lines: each is a record, the JSON loads.
    assert positions >= {2, 3, 5, 6, 7, 8, 10}
    assert loaded_ids >= {1, 6}
    if db.startswith("postgresql"):  # text columns there cannot hold NUL
        assert 11 in positions and 7 not in loaded_ids
    else:
        assert 7 in loaded_ids
    assert first.duplicates == 1
    assert first.loaded == len(loaded_ids)
    assert first.quarantined == len(quarantined)
    # The same input again: nothing new, nothing lost.
    again = extract.ingest(Order, path, into=db, table=table, batch_size=3)
    assert again.accounted and again.loaded == 0 and again.updated == 0
    assert len(table_rows(db, table)) == len(loaded_ids)
    assert len(table_rows(db, f"{table}__quarantine")) == len(quarantined)


def test_rows_read_back_as_equal_models(db: str) -> None:
    table = new_table()
    orders = [Order.model_validate({**GOOD, "id": i, "note": f"n{i}"}) for i in range(5)]
    report = extract.ingest(
        Order, [o.model_dump(mode="json") for o in orders], into=db, table=table
    )
    assert report.loaded == 5 and report.accounted
    back = sorted((_as_model(Order, r) for r in table_rows(db, table)), key=lambda o: o.id)  # type: ignore[attr-defined]
    assert back == orders


def test_changed_records_update_and_keep_created_at(db: str) -> None:
    table = new_table()
    extract.ingest(Order, [GOOD], into=db, table=table)
    created = table_rows(db, table)[0]["_created_at"]
    report = extract.ingest(Order, [{**GOOD, "status": "paid"}], into=db, table=table)
    assert (report.loaded, report.updated) == (0, 1)
    (row,) = table_rows(db, table)
    assert row["status"] == "paid" and row["_created_at"] == created


def test_content_hash_key_without_a_key_field(db: str) -> None:
    table = new_table()
    data = [
        {"sensor": "a", "value": 1.5},
        {"sensor": "a", "value": 1.5},
        {"sensor": "b", "value": 2},
    ]
    report = extract.ingest(Reading, data, into=db, table=table)
    assert (report.loaded, report.duplicates) == (2, 1)
    assert {r["sensor"] for r in table_rows(db, table)} == {"a", "b"}


def test_retry_quarantine_after_the_model_is_fixed(db: str) -> None:
    table = new_table()

    class Strict(BaseModel):
        name: str
        age: int = Field(ge=0, le=120)

    class Relaxed(BaseModel):
        name: str
        age: int = Field(ge=0, le=200)

    report = extract.ingest(Strict, [{"name": "Ann", "age": 150}], into=db, table=table)
    assert report.quarantined == 1
    retried = extract.retry_quarantine(Relaxed, db, table=table)
    assert retried.loaded == 1 and retried.quarantined == 0
    assert table_rows(db, f"{table}__quarantine") == []
    assert [r["age"] for r in table_rows(db, table)] == [150]


def test_csv_results_and_dry_run(tmp_path: Path) -> None:
    csv_path = tmp_path / "r.csv"
    csv_path.write_text('sensor,value,tags\na,1.5,\nb,oops,\nc,2,"[""x"", ""y""]"\n')
    report = extract.ingest(Reading, csv_path, dry_run=True)
    assert (report.read, report.loaded, report.quarantined) == (3, 2, 1)
    assert report.examples[0][1] == 3  # the line number of the bad row
    # Extraction results keep their provenance beside the row.
    results = [extract.Extractor(FakeBackend(seed)).run(Reading, "text") for seed in range(3)]
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert extract.ingest(Reading, results, into=url, table="r").loaded == 3
    for row in table_rows(url, "r"):
        assert row["_provenance"]["model"].startswith("fake:")
        assert row["_provenance"]["attempts"] >= 1
        assert len(row["_provenance"]["raw_sha256"]) == 64
    with pytest.raises(extract.UsageError, match="into="):
        extract.ingest(Reading, csv_path)
    with pytest.raises(extract.UsageError, match="key field"):
        extract.ingest(Reading, [], into="sqlite://", key="missing")


SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,  # hypothesis-jsonschema filters internally
    ],
)


@SETTINGS
@given(
    good=st.lists(instances(Reading), max_size=6),
    damaged=st.lists(llm_outputs(Reading), max_size=6),
    order=st.randoms(use_true_random=False),
)
def test_loaded_and_quarantined_account_for_every_record(
    db: str, good: list[Reading], damaged: list[Any], order: Any
) -> None:
    texts = [r.model_dump_json() for r in good] + [d.text for d in damaged]
    order.shuffle(texts)
    table = new_table()
    report = extract.ingest(Reading, texts, into=db, table=table, batch_size=4)
    assert report.accounted and report.read == len(texts)
    rows = table_rows(db, table)
    quarantined = table_rows(db, f"{table}__quarantine")
    assert len(quarantined) == report.quarantined
    assert len(rows) == report.loaded  # content-hash keys: duplicates collapse
    # Each text is either quarantined (by its position) or its value is loaded.
    positions = {q["position"] for q in quarantined}
    loaded = {json.dumps(_as_model(Reading, r).model_dump(mode="json")) for r in rows}
    for position, text in enumerate(texts, 1):
        if position in positions:
            continue
        value = extract.parse(Reading, text)
        assert json.dumps(value.model_dump(mode="json")) in loaded


_KILL_SCRIPT = """
import sys, extract
from tests.integration.test_ingest import Reading
extract.ingest(Reading, sys.argv[1], into=sys.argv[2], table=sys.argv[3], batch_size=50)
"""


def test_killed_mid_run_then_rerun_loads_everything_exactly_once(db: str, tmp_path: Path) -> None:
    path = tmp_path / "readings.jsonl"
    n = 20_000
    with path.open("w") as f:
        for i in range(n):
            f.write(json.dumps({"sensor": f"s{i}", "value": i}) + "\n" if i % 10 else "{oops\n")
    table = new_table()
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_SCRIPT, str(path), db, table],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    deadline = time.time() + 120
    engine = sa.create_engine(db)
    try:
        while time.time() < deadline:  # wait until some batches are committed
            with engine.connect() as conn:
                if sa.inspect(conn).has_table(table):
                    count = conn.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar()
                    if count and count > 500:
                        break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        engine.dispose()
    partial = len(table_rows(db, table))
    assert 0 < partial < n * 0.9, "the kill should land mid-run"
    report = extract.ingest(Reading, path, into=db, table=table, batch_size=50)
    assert report.accounted
    rows, bad = table_rows(db, table), table_rows(db, f"{table}__quarantine")
    assert len(rows) == n - n // 10 and len(bad) == n // 10
    assert len({r["sensor"] for r in rows}) == len(rows)


def test_concurrent_ingests_into_one_table(db: str, tmp_path: Path) -> None:
    table = new_table()
    extract.ingest(Reading, [], into=db, table=table)  # create the tables first
    data = [{"sensor": f"s{i}", "value": i} for i in range(3000)]
    halves = [data[:2000], data[1000:]]  # overlapping by a third
    with ThreadPoolExecutor(2) as pool:
        reports = list(
            pool.map(
                lambda part: extract.ingest(Reading, part, into=db, table=table, batch_size=200),
                halves,
            )
        )
    rows = table_rows(db, table)
    assert len(rows) == 3000 and len({r["sensor"] for r in rows}) == 3000
    assert all(r.accounted for r in reports)


def test_cli_ingest_dry_run_then_load(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text(
        "from pydantic import BaseModel\nclass Reading(BaseModel):\n    sensor: str\n    value: float\n"
    )
    data = tmp_path / "r.jsonl"
    data.write_text('{"sensor": "a", "value": 1}\nnot json\n{"sensor": "b", "value": "x"}\n')
    url = f"sqlite:///{tmp_path / 'r.db'}"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "extract", "ingest", "--schema", "models:Reading", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    dry = cli("--dry-run", str(data))
    assert dry.returncode == 0, dry.stderr
    assert "3 read, 1 loaded" in dry.stderr and "2 quarantined" in dry.stderr
    assert not (tmp_path / "r.db").exists()
    real = cli("--into", url, str(data))
    assert real.returncode == 0, real.stderr
    assert [r["sensor"] for r in table_rows(url, "reading")] == ["a"]
    assert len(table_rows(url, "reading__quarantine")) == 2
    missing = cli(str(data))
    assert missing.returncode != 0 and "--into" in missing.stderr
