"""Ray Data: every row comes out once through an actor pool on a local Ray instance, and
``extract run --engine ray`` writes the same lines as the local engine."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import extract
from tests.batch_fakes import FATES, Item
from tests.unit.test_batch import EXPECTED_ERROR, cli, write_inputs

ray = pytest.importorskip("ray", reason="the 'ray' extra is not installed")
pytestmark = pytest.mark.ray

from extract.ray import ROW_COLUMNS, extract_dataset, line_from_row  # noqa: E402


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A two-CPU Ray instance for this module; yields its address for the CLI to join."""
    import ray.data

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()


def rows_for(fates: list[str]) -> list[dict[str, Any]]:
    return [{"id": f"r{i}", "text": f"doc {i} {what}"} for i, what in enumerate(fates)]


def test_every_row_comes_out_once_through_the_actor_pool(cluster: str, tmp_path: Path) -> None:
    fates = [FATES[i % len(FATES)] for i in range(37)]
    rows = [*rows_for(fates), {"id": "no-text", "text": None}]
    result = extract_dataset(
        ray.data.from_items(rows),
        Item,
        backend="tests.batch_fakes:slow_backend",
        workers=2,
        batch_size=3,
        max_retries=0,
    )
    # Written and read back as Parquet: the flat columns survive a file format.
    result.write_parquet(str(tmp_path / "out"))
    import pyarrow.parquet

    table = pyarrow.parquet.read_table(str(tmp_path / "out"))
    assert tuple(table.column_names) == ROW_COLUMNS
    out = {row["id"]: row for row in table.to_pylist()}
    assert Counter(row["id"] for row in table.to_pylist()) == Counter(r["id"] for r in rows)
    for i, what in enumerate(fates):
        row = out[f"r{i}"]
        if what == "ok":
            assert row["error"] is None and json.loads(row["value"]) == {"n": i}
            assert row["model"] == "fake:faulty" and row["attempts"] == 1
        else:
            assert row["value"] is None and row["error"].startswith(EXPECTED_ERROR[what])
    assert out["no-text"]["error"] == "InputError: column 'text' is not text (NoneType)"


def test_bad_datasets_and_options_fail_before_any_work(cluster: str) -> None:
    ds = ray.data.from_items([{"doc": "x", "key": "1"}])
    with pytest.raises(extract.UsageError, match=r"no column 'id', 'text' \(its columns: doc, key"):
        extract_dataset(ds, Item, backend="tests.batch_fakes:slow_backend")
    renamed = extract_dataset(
        ds,
        Item,
        backend="tests.batch_fakes:slow_backend",
        id_column="key",
        text_column="doc",
        workers=1,  # one row: a second actor would idle (Ray warns)
    )
    assert renamed.take_all()[0]["id"] == "1"
    good = ray.data.from_items([{"id": "1", "text": "doc 1 ok"}])
    with pytest.raises(extract.UsageError, match="unknown option"):
        extract_dataset(good, Item, backend="tests.batch_fakes:slow_backend", temprature=0.5)
    with pytest.raises(extract.UsageError, match="cannot import 'nowhere'"):
        extract_dataset(good, "nowhere:Model", backend="tests.batch_fakes:slow_backend")
    with pytest.raises(extract.ModelLoadError, match=r"no GGUF model file at '/nowhere\.gguf'"):
        extract_dataset(good, Item, model="/nowhere.gguf")
    with pytest.raises(extract.UsageError, match="threads=3 but the largest node has 2 CPUs"):
        extract_dataset(good, Item, backend="tests.batch_fakes:slow_backend", threads=3)
    with pytest.raises(extract.UsageError, match="at least 1"):
        extract_dataset(good, Item, backend="tests.batch_fakes:slow_backend", workers=0)


def test_cli_ray_engine_writes_what_the_local_engine_writes(cluster: str, tmp_path: Path) -> None:
    fates = ["ok", "invalid", "ok", "crash", "ok", "timeout", "ok", "provider"] * 2
    ids = write_inputs(tmp_path / "in", fates)
    env = {"FAKE_DELAY": "0"}
    common = ("--input", str(tmp_path / "in"), "--max-retries", "0", "--no-cache")
    outputs = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"{engine}.jsonl"
        extra = ("--engine", "ray", "--ray-address", cluster, "--workers", "2")
        proc = cli(*common, "--output", str(out), *(extra if engine == "ray" else ()), env=env)
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 1, stderr  # some documents fail by design
        assert "8 extracted" in stderr and "9 failed" in stderr, stderr
        outputs[engine] = sorted(out.read_text().splitlines())
    assert outputs["ray"] == outputs["local"]
    assert Counter(json.loads(line)["id"] for line in outputs["ray"]) == Counter(ids)
    # Rerun: every id is in the output, so no Ray work is started at all.
    again = cli(*common, "--output", str(tmp_path / "ray.jsonl"), "--engine", "ray", env=env)
    _, stderr = again.communicate(timeout=120)
    assert f"resuming: {len(ids)} ids" in stderr and "0 extracted" in stderr, stderr


def test_line_and_row_round_trip() -> None:
    from extract.ray import row_from_line

    ok = {
        "id": "a",
        "value": {"name": "Zoë", "tags": [1, None]},
        "attempts": 2,
        "usage": {"prompt_tokens": 10, "completion_tokens": 4},
        "model": "m",
        "cached": True,
    }
    failed = {"id": "b", "error": "ExtractionError: no valid X"}
    for line in (ok, failed):
        row = row_from_line(line, seconds=1.5)
        assert tuple(row) == ROW_COLUMNS
        assert line_from_row(row) == line


@pytest.mark.model
def test_the_embedded_model_on_ray_actors_matches_the_local_engine(cluster: str) -> None:
    from extract.apps.cli._demo import Contact  # a model that ships with the package

    texts = [
        "Write to Maria Gonzalez (maria@northwind.example), Northwind Traders, Madrid.",
        "Ken Thompson from Bell Labs in Murray Hill, ken@bell-labs.example.",
        "Ada Byron, Analytical Engines Ltd, London; ada@engines.example",
    ]
    rows = [{"id": f"c{i}", "text": t} for i, t in enumerate(texts)]
    result = extract_dataset(ray.data.from_items(rows), Contact, workers=2, threads=1)
    lines = {row["id"]: line_from_row(row) for row in result.take_all()}
    local = extract.Extractor(n_threads=1)
    for row in rows:
        line = lines[row["id"]]
        assert "error" not in line, line
        # Greedy decoding on one thread: the actors write what a local run writes.
        assert line["value"] == local.run(Contact, row["text"]).value.model_dump(mode="json")
        assert line["model"].startswith("llama.cpp:")


def test_an_actor_that_cannot_start_is_a_clear_error(cluster: str) -> None:
    from extract.apps.ray import run_lines
    from extract.features.batch import Document

    docs = iter([Document("a", "doc 1 ok"), Document("b", "doc 2 ok")])
    lines = run_lines(docs, Item, backend="tests.batch_fakes:broken_backend", workers=1)
    with pytest.raises(extract.ModelLoadError, match=r"could not start.*no credentials"):
        list(lines)
