"""Ingesting ``extract run`` output, and routing unsure records to the review table."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import extract
from extract.apps.review import load_items
from extract.features.batch import json_line
from extract.testing import ScriptedBackend
from tests import fault_counts
from tests.integration.ingest_support import kill_then_finish, new_table, table_rows


class Contact(BaseModel):
    name: str
    email: str | None = None
    phone: str | None = None


class Reading(BaseModel):  # a model with a "value" field: its records are never unwrapped
    id: str
    value: float


def _line(doc: str, value: dict[str, Any], confidence: dict[str, float]) -> dict[str, Any]:
    """An output line as ``extract run`` writes it."""
    return {
        "id": doc,
        "value": value,
        "attempts": 1,
        "usage": {"prompt_tokens": 10, "completion_tokens": 5},
        "model": "m",
        "cached": False,
        "confidence": confidence,
    }


RUN = [
    _line("a", {"name": "Ann", "email": "ann@x.org"}, {"/name": 0.95, "/email": 0.9}),
    _line("b", {"name": "Bob", "phone": "123"}, {"/name": 0.97, "/phone": 0.2}),
    {"id": "c", "error": "ValidationError: the model gave no name"},
    _line("d", {"name": "Dee"}, {"/name": 0.3}),
]


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json_line(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_run_output_routes_unsure_records_to_review(db: str, tmp_path: Path) -> None:
    table = new_table()
    source = _write(tmp_path / "run.jsonl", RUN)
    report = extract.ingest(Contact, source, into=db, table=table, min_confidence=0.5)
    assert (report.read, report.loaded, report.review, report.quarantined) == (4, 1, 2, 1)
    assert report.accounted
    assert "2 for review" in report.summary()
    loaded = table_rows(db, table)
    assert [r["name"] for r in loaded] == ["Ann"]
    assert loaded[0]["_provenance"]["document"] == "a"
    assert loaded[0]["_provenance"]["confidence"] == {"/name": 0.95, "/email": 0.9}
    review = sorted(table_rows(db, f"{table}__review"), key=lambda r: r["position"])
    assert [(r["document"], r["position"]) for r in review] == [("b", 2), ("d", 4)]
    assert [r["pointers"] for r in review] == [{"/phone": 0.2}, {"/name": 0.3}]
    assert json.loads(review[0]["raw"]) == RUN[1]  # the whole line, for the review page
    (failed,) = table_rows(db, f"{table}__quarantine")
    assert failed["reason"] == "extraction failed"
    assert "no name" in failed["errors"][0]["msg"]

    again = extract.ingest(Contact, source, into=db, table=table, min_confidence=0.5)
    assert (again.duplicates, again.review, again.quarantined) == (1, 2, 1)
    assert len(table_rows(db, f"{table}__review")) == 2  # nothing twice


def test_without_a_threshold_run_output_loads_every_value(db: str, tmp_path: Path) -> None:
    table = new_table()
    report = extract.ingest(Contact, _write(tmp_path / "run.jsonl", RUN), into=db, table=table)
    assert (report.loaded, report.review, report.quarantined) == (3, 0, 1)
    assert sorted(r["name"] for r in table_rows(db, table)) == ["Ann", "Bob", "Dee"]


def test_results_are_routed_by_their_confidence(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"

    def result(name: str, sure: float, uncertain: tuple[str, ...] = ()) -> extract.Result[Any]:
        ran = extract.Extractor(ScriptedBackend([json.dumps({"name": name})])).run(Contact, "t")
        return dataclasses.replace(ran, confidence={"/name": sure}, uncertain=uncertain)

    records = [result("Ann", 0.9), result("Bob", 0.1), result("Cy", 0.9, ("/email",))]
    report = extract.ingest(Contact, records, into=url, table="c", min_confidence=0.5)
    assert (report.loaded, report.review) == (1, 2)
    review = sorted(table_rows(url, "c__review"), key=lambda r: r["position"])
    # a value the run already marked uncertain is routed without a confidence of its own
    assert [r["pointers"] for r in review] == [{"/name": 0.1}, {"/email": 0.0}]
    (tmp_path / "docs.jsonl").write_text(
        "".join(json.dumps({"id": f"<records>:{i}", "text": "t"}) + "\n" for i in (2, 3))
    )
    items = load_items(url, [str(tmp_path / "docs.jsonl")], table="c")  # the page reads them
    assert [(i.value, i.confidence) for i in items] == [
        ({"name": "Bob", "email": None, "phone": None}, {"/name": 0.1}),
        ({"name": "Cy", "email": None, "phone": None}, {"/name": 0.9, "/email": 0.0}),
    ]


def test_a_model_with_a_value_field_is_not_unwrapped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    report = extract.ingest(Reading, [{"id": "s1", "value": 2.5}], into=url, min_confidence=0.9)
    assert (report.loaded, report.review) == (1, 0)
    assert table_rows(url, "reading")[0]["value"] == 2.5


def test_the_review_page_reads_the_review_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    extract.ingest(Contact, _write(tmp_path / "run.jsonl", RUN), into=url, min_confidence=0.5)
    inputs = _write(
        tmp_path / "docs.jsonl",
        [{"id": d, "text": f"text of {d}"} for d in "abcd"],
    )
    items = load_items(url, [str(inputs)], table="contact")
    assert [(i.id, i.text) for i in items] == [("b", "text of b"), ("d", "text of d")]
    assert items[0].value == {"name": "Bob", "phone": "123"}
    assert items[0].confidence == {"/name": 0.97, "/phone": 0.2}
    with pytest.raises(extract.UsageError, match="--input"):
        load_items(url, [], table="contact")  # no texts: said, not a blank page
    with pytest.raises(extract.UsageError, match="no table 'other__review'"):
        load_items(url, [str(inputs)], table="other")


def test_cli_ingest_with_min_confidence(tmp_path: Path) -> None:
    source = _write(tmp_path / "run.jsonl", RUN)
    (tmp_path / "contact_model.py").write_text(
        "from pydantic import BaseModel\n\n"
        "class Contact(BaseModel):\n"
        "    name: str\n    email: str | None = None\n    phone: str | None = None\n"
    )
    url = f"sqlite:///{tmp_path / 'app.db'}"

    def ingest(threshold: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "extract", "ingest", "--schema", "contact_model:Contact",
             "--into", url, "--min-confidence", threshold, str(source)],
            capture_output=True, text=True, cwd=tmp_path, timeout=120,
            env={**os.environ, "PYTHONPATH": str(tmp_path)},
        )  # fmt: skip

    done = ingest("0.5")
    assert done.returncode == 0, done.stderr
    assert "1 loaded" in done.stderr and "2 for review" in done.stderr
    bad = ingest("2")
    assert bad.returncode == 2 and "min_confidence must be within [0, 1]" in bad.stderr


confidences = st.dictionaries(
    st.sampled_from(["/name", "/email", "/phone"]), st.floats(0, 1), max_size=3
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    lines=st.lists(st.tuples(confidences, st.booleans()), max_size=12),
    threshold=st.floats(0, 1),
)
def test_every_run_line_is_loaded_routed_or_quarantined(
    tmp_path: Path, lines: list[tuple[dict[str, float], bool]], threshold: float
) -> None:
    url = f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
    run = [
        _line(f"d{i}", {"name": f"n{i}"}, sure) if ok else {"id": f"d{i}", "error": "boom"}
        for i, (sure, ok) in enumerate(lines)
    ]
    report = extract.ingest(Contact, run, into=url, min_confidence=threshold)
    assert report.accounted and report.read == len(run)
    unsure = {
        f"d{i}": {p: c for p, c in sure.items() if c < threshold}
        for i, (sure, ok) in enumerate(lines)
        if ok
    }
    expected_review = {d: low for d, low in unsure.items() if low}
    review = {r["document"]: r["pointers"] for r in table_rows(url, "contact__review")}
    assert review == expected_review
    loaded = {r["_provenance"]["document"] for r in table_rows(url, "contact")}
    assert loaded == {d for d, low in unsure.items() if not low}
    assert report.quarantined == sum(not ok for _, ok in lines)


def test_killed_while_routing_then_rerun_accounts_for_every_line_once(tmp_path: Path) -> None:
    rng = random.Random(20261207)  # random kill points, the same every run
    (tmp_path / "models.py").write_text(
        "from pydantic import BaseModel\n\n"
        "class Contact(BaseModel):\n"
        "    name: str\n    email: str | None = None\n    phone: str | None = None\n"
    )
    n = 20_000
    run = [
        {"id": f"d{i}", "error": "boom"}
        if i % 10 == 0
        else _line(f"d{i}", {"name": f"n{i}"}, {"/name": 0.2 if i % 3 == 0 else 0.9})
        for i in range(n)
    ]
    data = _write(tmp_path / "run.jsonl", run)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    command = [sys.executable, "-m", "extract", "ingest", "--schema", "models:Contact",
               "--into", url, "--batch-size", "200", "--min-confidence", "0.5", str(data)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    kills, final = kill_then_finish(command, tmp_path, env, rng)
    assert final.returncode == 0, final.stderr
    loaded = [int(r["_source"].rsplit(":", 1)[1]) for r in table_rows(url, "contact")]
    held = [r["position"] for r in table_rows(url, "contact__review")]
    failed = [r["position"] for r in table_rows(url, "contact__quarantine")]
    assert sorted(loaded + held + failed) == list(range(1, n + 1))  # every line once
    assert set(failed) == {i + 1 for i in range(n) if i % 10 == 0}
    assert set(held) == {i + 1 for i in range(n) if i % 10 and i % 3 == 0}
    assert kills >= 2  # the test killed runs that had work left
    fault_counts.record("ingest-review-kill", inputs=n, faults=kills, accounted=n)


def test_a_result_is_routed_even_for_a_model_with_a_value_field(tmp_path: Path) -> None:
    ran = extract.Extractor(ScriptedBackend(['{"id": "s1", "value": 2.5}'])).run(Reading, "t")
    unsure = dataclasses.replace(ran, confidence={"/value": 0.1})
    url = f"sqlite:///{tmp_path / 'app.db'}"
    report = extract.ingest(Reading, [unsure], into=url, min_confidence=0.5)
    assert (report.loaded, report.review) == (0, 1)
