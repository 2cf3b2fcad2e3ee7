"""Ingestion of values a database cannot hold, of one file under many names, and of
inputs or databases that cannot be used: quarantined with a reason or one clear error,
never a crash, never a value that reads back changed."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import os
import random
import socket
import string
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import BaseModel, Field

import extract
from extract.apps.cli import main
from extract.apps.ingest import _fit
from extract.apps.ingest._tables import layout
from tests.integration.ingest_support import new_table

BIG = 2**63


class Part(BaseModel):
    qty: int
    size: float


class Edge(BaseModel):
    id: int = Field(json_schema_extra={"primary_key": True})
    name: str = "x"
    price: float = 1.0
    count: int | None = None
    amount: decimal.Decimal | None = None
    at: dt.datetime | None = None
    opens: dt.time | None = None
    parts: list[Part] = []


def read_back(model: type[BaseModel], url: str, table: str) -> list[dict[str, Any]]:
    """Every row of ``table`` and its quarantine, read through the loader's own column
    types (as a reader of the table would), as dicts."""
    plan = layout(model, table, None, "")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(plan.table)).mappings()]
    finally:
        engine.dispose()


def quarantined(url: str, table: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            q = sa.Table(f"{table}__quarantine", sa.MetaData(), autoload_with=conn)
            return [dict(r) for r in conn.execute(sa.select(q)).mappings()]
    finally:
        engine.dispose()


def comparable(value: Any, zone_is_utc: bool = False) -> Any:
    """NaN equal to NaN, so that a faithful round trip compares equal. With
    ``zone_is_utc`` (PostgreSQL's timestamptz and timetz) a datetime or time without a
    zone is the UTC one, as the loader stores it."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, (dt.datetime, dt.time)) and zone_is_utc and value.utcoffset() is None:
        return value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dict):
        return {k: comparable(v, zone_is_utc) for k, v in value.items()}
    if isinstance(value, list):
        return [comparable(v, zone_is_utc) for v in value]
    return value


def as_model(model: type[BaseModel], row: dict[str, Any]) -> BaseModel:
    return model.model_validate({k: row[k] for k in model.model_fields})


# (changes to a valid record, loaded on SQLite, loaded on PostgreSQL)
EDGES: list[tuple[dict[str, Any], bool, bool]] = [
    ({"count": BIG}, False, False),
    ({"count": -BIG - 1}, False, False),
    ({"count": 10**20}, False, False),
    ({"count": BIG - 1}, True, True),
    ({"count": -BIG}, True, True),
    ({"id": BIG}, False, False),  # the key column too
    ({"price": math.nan}, False, True),  # SQLite would store NULL
    ({"price": math.inf}, True, True),
    ({"price": -math.inf}, True, True),
    ({"price": -0.0}, True, True),
    ({"price": 5e-324}, True, True),
    ({"price": 1.7976931348623157e308}, True, True),
    ({"parts": [{"qty": 1, "size": math.nan}]}, False, False),  # JSON has no NaN
    ({"parts": [{"qty": 1, "size": -math.inf}]}, False, False),
    ({"parts": [{"qty": 10**30, "size": 1.5}]}, True, True),  # JSON holds any integer
    ({"name": "nul \x00 inside"}, True, False),
    ({"parts": [{"qty": 1, "size": 0.5}], "name": "\x00"}, True, False),
    ({"amount": "1E+131072"}, True, False),
    ({"amount": "1E-16384"}, True, False),
    ({"amount": "-1.5E-16382"}, True, True),
    ({"amount": "123456789012345678901234567890.000000000001"}, True, True),
    ({"at": "0001-01-01T00:00:00+05:00"}, True, False),
    ({"at": "9999-12-31T23:00:00-05:00"}, True, False),
    ({"at": "2024-02-29T12:00:00+14:00"}, True, True),
    ({"opens": "01:00:00+16:00"}, True, False),
    ({"opens": "01:00:00-15:59"}, True, True),
    ({"at": "2024-01-01T12:00:00"}, True, True),  # no zone: UTC on PostgreSQL
    ({"opens": "08:30:00"}, True, True),
]


def test_values_a_column_cannot_hold_are_quarantined_the_rest_read_back_equal(
    db: str, tmp_path: Path
) -> None:
    on_sqlite = db.startswith("sqlite")
    path = tmp_path / "edges.jsonl"
    records = [{"id": i, **change} for i, (change, _, _) in enumerate(EDGES, 1)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))  # NaN as Python writes it
    table = new_table()
    report = extract.ingest(Edge, path, into=db, table=table, batch_size=7)
    assert report.accounted and report.read == len(EDGES)
    expected_bad = {
        i for i, (_, sqlite, pg) in enumerate(EDGES, 1) if not (sqlite if on_sqlite else pg)
    }
    bad = quarantined(db, table)
    assert {q["position"] for q in bad} == expected_bad
    assert all(q["reason"].startswith("cannot be stored: ") for q in bad)
    assert report.quarantined == len(bad) and report.loaded == len(EDGES) - len(bad)
    rows = read_back(Edge, db, table)
    assert len(rows) == report.loaded
    for row in rows:
        position = int(row["_source"].rsplit(":", 1)[1])
        back = as_model(Edge, row)  # every row read back is a valid Edge...
        sent = Edge.model_validate(records[position - 1])
        same = comparable(back.model_dump(), not on_sqlite)
        assert same == comparable(sent.model_dump(), not on_sqlite)  # ...and the same


def test_an_integer_beyond_64_bits_is_a_quarantined_record_not_a_crash(db: str) -> None:
    table = new_table()
    good = {"id": 1, "count": 1}
    report = extract.ingest(Edge, [good, {"id": 2, "count": 10**20}], into=db, table=table)
    assert (report.loaded, report.quarantined) == (1, 1)
    (bad,) = quarantined(db, table)
    assert "BIGINT" in bad["reason"] and "64-bit" in bad["reason"]
    assert bad["errors"][0]["loc"] == ["count"]
    again = extract.ingest(Edge, [good, {"id": 2, "count": 10**20}], into=db, table=table)
    assert again.accounted and again.duplicates == 1 and len(quarantined(db, table)) == 1


def test_nan_in_a_required_float_never_reads_back_as_null(db: str) -> None:
    class Price(BaseModel):
        name: str
        price: float

    table = new_table()
    report = extract.ingest(Price, ['{"name": "a", "price": NaN}'], into=db, table=table)
    rows = read_back(Price, db, table)
    if db.startswith("sqlite"):  # it would be stored as NULL: quarantined instead
        assert (report.loaded, report.quarantined, rows) == (0, 1, [])
        assert "NaN" in quarantined(db, table)[0]["reason"]
    else:  # double precision holds NaN
        assert report.loaded == 1
        assert math.isnan(as_model(Price, rows[0]).price)  # type: ignore[attr-defined]


def test_a_lone_surrogate_from_an_iterable_is_quarantined(db: str) -> None:
    table = new_table()
    report = extract.ingest(Edge, [{"id": 1, "name": "\ud800"}, {"id": 2}], into=db, table=table)
    assert (report.loaded, report.quarantined) == (1, 1) and report.accounted
    assert "surrogate" in quarantined(db, table)[0]["reason"]


def test_a_refusal_no_check_foresaw_sends_only_that_record_to_quarantine(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the checks the driver itself refuses: the batch is split until only the
    # refused records are left out, each quarantined with the driver's message.
    monkeypatch.setattr(_fit.Capacity, "check", lambda self, row: None)
    records: list[dict[str, Any]] = [{"id": i, "count": i} for i in range(1, 31)]
    records[16] = {"id": 17, "count": BIG}
    records.append({"id": 5, "count": -BIG - 1})  # a later, refused record of key 5
    table = new_table()
    report = extract.ingest(Edge, records, into=db, table=table, batch_size=len(records))
    assert report.accounted and (report.loaded, report.quarantined) == (29, 2)
    rows = {r["id"]: r for r in read_back(Edge, db, table)}
    assert set(rows) == set(range(1, 31)) - {17}
    assert rows[5]["count"] == 5 and rows[5]["_source"] == "<records>:5"  # the earlier one
    bad = quarantined(db, table)
    assert sorted(q["position"] for q in bad) == [17, 31]
    assert all(q["reason"] == "refused by the database" for q in bad)
    driver = "OverflowError" if db.startswith("sqlite") else "bigint out of range"
    assert all(driver in q["errors"][0]["msg"] for q in bad)
    again = extract.ingest(Edge, records, into=db, table=table, batch_size=len(records))
    assert again.accounted and again.loaded == 0 and len(quarantined(db, table)) == 2


def test_a_key_too_long_for_the_index_is_refused_per_record(db: str) -> None:
    class Named(BaseModel):
        name: str = Field(json_schema_extra={"primary_key": True})

    rng = random.Random(3)  # random letters do not compress below PostgreSQL's index limit
    long_name = "".join(rng.choice(string.ascii_letters) for _ in range(20_000))
    table = new_table()
    report = extract.ingest(Named, [{"name": "a"}, {"name": long_name}], into=db, table=table)
    assert report.accounted
    if db.startswith("sqlite"):
        assert report.loaded == 2
    else:
        assert (report.loaded, report.quarantined) == (1, 1)
        assert "index row" in quarantined(db, table)[0]["errors"][0]["msg"]


def test_one_file_under_every_spelling_is_one_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "damaged.jsonl"
    data.write_text('{"id": 1}\n{"id": "x"}\nnot json\n{"id": 2}\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.jsonl").symlink_to(data)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'app.db'}"
    spellings = [
        "damaged.jsonl",
        str(data),
        "./damaged.jsonl",
        "link.jsonl",
        "sub/../damaged.jsonl",
    ]
    for spelling in spellings:
        report = extract.ingest(Edge, spelling, into=url, table="edge")
        assert report.accounted and report.quarantined == 2
    bad = quarantined(url, "edge")
    assert sorted(q["position"] for q in bad) == [2, 3]
    assert {q["source"] for q in bad} == {str(data.resolve())}
    rows = read_back(Edge, url, "edge")
    assert {r["_source"] for r in rows} == {f"{data.resolve()}:1", f"{data.resolve()}:4"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read_only_place(tmp_path: Path) -> Path:
    """A folder this process cannot create files in (root ignores permission bits)."""
    if os.geteuid() == 0:
        return Path("/proc")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def test_cli_errors_are_one_line_and_create_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "edges.py").write_text("from tests.integration.test_ingest_storable import Edge\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    data = tmp_path / "in.jsonl"
    data.write_text('{"id": 1}\n')
    url = f"sqlite:///{tmp_path / 'app.db'}"
    port = _free_port()
    cases = [
        ([str(tmp_path / "missing.jsonl")], url, 2, "no such input file"),
        ([str(tmp_path)], url, 2, "is a directory"),
        ([str(data), str(tmp_path / "missing.jsonl")], url, 2, "no such input file"),
        ([str(data)], "sqlite:////missing/dir/x.db", 2, "no folder /missing/dir"),
        ([str(data)], f"sqlite:///{_read_only_place(tmp_path)}/x.db", 2, "SQLite database"),
        ([str(data)], f"sqlite:///{tmp_path}", 2, "is a directory"),
        ([str(data)], f"postgresql+psycopg://u:pw@127.0.0.1:{port}/x", 1, "cannot open"),
    ]
    for files, into, code, message in cases:
        assert main(["ingest", "--schema", "edges:Edge", "--into", into, *files]) == code
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err, err
        assert err.count("\n") == 1, err  # one line: no traceback
        assert ":pw@" not in err  # no password
    assert not (tmp_path / "app.db").exists()  # nothing was loaded, not even the first file


def test_library_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(extract.UsageError, match="no such input file"):
        extract.ingest(Edge, tmp_path / "missing.jsonl", into="sqlite://")
    with pytest.raises(extract.UsageError, match="no folder"):
        extract.ingest(Edge, [{"id": 1}], into=f"sqlite:///{tmp_path}/no/such/x.db")
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/postgres"
    with pytest.raises(extract.IngestError, match="Connection refused"):
        extract.ingest(Edge, [{"id": 1}], into=url)


def test_a_full_disk_fails_the_ingest_and_keeps_whole_batches(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'full.db'}"
    extract.ingest(Edge, [{"id": 0}], into=url, table="edge")
    pages = sa.create_engine(url).connect().execute(sa.text("PRAGMA page_count")).scalar()
    full = sa.create_engine(url)

    @sa.event.listens_for(full, "connect")
    def _limit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {int(pages or 0) + 20}")

    records = [{"id": i, "name": "n" * 200} for i in range(1, 3001)]
    with pytest.raises(extract.IngestError, match="full"):
        extract.ingest(Edge, records, into=full, table="edge", batch_size=100)
    full.dispose()
    written = len(read_back(Edge, url, "edge")) - 1
    assert 0 < written < 3000 and written % 100 == 0  # only whole batches were committed
    report = extract.ingest(Edge, records, into=url, table="edge", batch_size=100)
    assert report.accounted and (report.loaded, report.duplicates) == (3000 - written, written)
    assert len(read_back(Edge, url, "edge")) == 3001


def test_a_table_dropped_mid_run_is_an_error_not_a_quarantine(db: str) -> None:
    table = new_table()
    engine = sa.create_engine(db)

    def drop(report: extract.IngestReport) -> None:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))

    records = [{"id": i} for i in range(50)]
    try:
        with pytest.raises(extract.IngestError, match=table):
            extract.ingest(Edge, records, into=db, table=table, batch_size=10, progress=drop)
        assert quarantined(db, table) == []
    finally:
        engine.dispose()
