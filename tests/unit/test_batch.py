"""Batches: every input comes out exactly once, whatever fails, however it is run."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import extract
from extract.features.batch import ResumableOutput
from extract.features.batch._ratelimit import LimitedBackend, RateLimit, Reservation
from tests.batch_fakes import FATES, AsyncFaultyBackend, FaultyBackend, Item
from tests.fault_counts import record

ROOT = Path(__file__).resolve().parents[2]


def texts(fates: list[str]) -> list[tuple[str, str]]:
    return [(f"id-{i}", f"doc {i} {what}") for i, what in enumerate(fates)]


EXPECTED_ERROR = {
    "invalid": "ExtractionError",
    "crash": "RuntimeError",
    "provider": "ProviderError",
    "timeout": "TimeoutError",
}


def check_accounted(outcomes: list[extract.Outcome], inputs: list[tuple[str, str]]) -> None:
    """Each input id once; values where the fate is ok, the right error otherwise."""
    assert Counter(o.id for o in outcomes) == Counter(i for i, _ in inputs)
    by_id = {o.id: o for o in outcomes}
    for ident, text in inputs:
        outcome, what = by_id[ident], text.split()[-1]
        if what == "ok":
            assert outcome.ok and outcome.value == Item(n=int(text.split()[1]))
        else:
            assert not outcome.ok and outcome.error_type == EXPECTED_ERROR[what], outcome.error


@given(
    fates=st.lists(st.sampled_from(FATES), max_size=40),
    concurrency=st.integers(1, 6),
    order=st.sampled_from(["input", "completed"]),
)
def test_every_input_comes_out_once_whatever_fails(
    fates: list[str], concurrency: int, order: str
) -> None:
    inputs = texts(fates)
    extractor = extract.Extractor(FaultyBackend())
    outcomes = list(
        extractor.run_many(Item, inputs, concurrency=concurrency, order=order, max_retries=1)
    )
    check_accounted(outcomes, inputs)
    if order == "input":
        assert [o.id for o in outcomes] == [i for i, _ in inputs]


@given(
    fates=st.lists(st.sampled_from(FATES), max_size=30),
    concurrency=st.integers(1, 6),
    budget=st.integers(1, 120),
)
def test_a_batch_budget_under_faults_still_accounts_for_every_input(
    fates: list[str], concurrency: int, budget: int
) -> None:
    """Once the budget is spent the documents left fail with BudgetExceededError; the
    rest end as their fate says; no input is lost or doubled, and the spending passes
    the budget by at most one call (8 tokens) per document in flight."""
    inputs = texts(fates)
    backend = FaultyBackend()
    outcomes = list(
        extract.Extractor(backend).run_many(
            Item, inputs, concurrency=concurrency, max_retries=1, budget_tokens=budget
        )
    )
    assert [o.id for o in outcomes] == [i for i, _ in inputs]
    spent = [o for o in outcomes if o.error_type == "BudgetExceededError"]
    check_accounted([o for o in outcomes if o not in spent], [
        (i, t) for i, t in inputs if i not in {o.id for o in spent}
    ])  # fmt: skip
    assert sum(o.usage.total_tokens for o in outcomes) <= budget + 8 * concurrency
    faults = sum(1 for f in fates if f != "ok") + len(spent)
    record("batch-budget", inputs=len(inputs), faults=faults, accounted=len(outcomes))


def test_concurrency_is_honoured_and_input_order_kept() -> None:
    backend = FaultyBackend(delay=0.02)
    inputs = texts(["ok"] * 30)
    outcomes = list(extract.Extractor(backend).run_many(Item, inputs, concurrency=4))
    assert [o.id for o in outcomes] == [i for i, _ in inputs]
    assert 2 <= backend.most_in_flight <= 4


def test_async_batches_account_for_everything_within_the_limit() -> None:
    backend = AsyncFaultyBackend(delay=0.01)
    inputs = texts(["ok", "crash", "invalid", "provider", "timeout"] * 6)
    extractor = extract.Extractor(backend)

    async def collect() -> list[extract.Outcome]:
        stream = extractor.arun_many(Item, inputs, concurrency=3, order="completed", max_retries=0)
        return [o async for o in stream]

    check_accounted(asyncio.run(collect()), inputs)
    assert backend.most_in_flight == 3


def test_bad_inputs_are_reported_and_the_rest_go_on() -> None:
    inputs: list[Any] = ["doc 0 ok", ("a", "doc 1 ok"), ("a", "doc 2 ok"), {"id": "b"}, 42]
    outcomes = list(extract.Extractor(FaultyBackend()).run_many(Item, inputs))
    assert [o.id for o in outcomes] == ["0", "a", "a", "b", "4"]
    assert [o.ok for o in outcomes] == [True, True, False, False, False]
    assert "repeats the id 'a'" in (outcomes[2].error or "")
    assert "no text" in (outcomes[3].error or "") and "no text" in (outcomes[4].error or "")


def test_cache_hits_are_identical_and_call_nothing(tmp_path: Path) -> None:
    inputs = texts(["ok", "ok", "invalid", "ok"])
    cache = tmp_path / "cache.sqlite"
    first_backend = FaultyBackend()
    first = list(extract.Extractor(first_backend).run_many(Item, inputs, cache=cache))
    assert first_backend.calls == 6  # 3 ok, the invalid one asked 3 times
    again_backend = FaultyBackend()
    again = list(extract.Extractor(again_backend).run_many(Item, inputs, cache=cache))
    assert again_backend.calls == 3  # only the failure is tried again
    assert [o.value for o in again] == [o.value for o in first]
    assert [o.cached for o in again] == [True, True, False, True]
    other = FaultyBackend()
    list(extract.Extractor(other).run_many(Item, inputs, cache=cache, temperature=0.5))
    assert other.calls == 6  # other options, other answers: no hits


def test_rate_limit_counts_requests_and_reserved_tokens_over_a_minute() -> None:
    with pytest.raises(extract.UsageError, match="requests_per_minute must be more than 0"):
        RateLimit(requests_per_minute=0)
    limit = RateLimit(requests_per_minute=2)
    assert isinstance(limit.reserve(now=0.0), Reservation)
    assert isinstance(limit.reserve(now=1.0), Reservation)
    assert limit.reserve(now=2.0) == pytest.approx(58.0)  # the third waits for the first
    assert isinstance(limit.reserve(now=60.5), Reservation)
    tokens = RateLimit(tokens_per_minute=100)
    first = tokens.reserve(70, now=0.0)
    assert isinstance(first, Reservation)
    assert tokens.reserve(70, now=1.0) == pytest.approx(59.0)  # the first is still in flight
    tokens.settle(first, 20)  # its answer was short
    assert isinstance(tokens.reserve(70, now=2.0), Reservation)  # 20 + 70 fits
    # An empty minute takes a request larger than the limit, or it could never run.
    assert isinstance(RateLimit(tokens_per_minute=10).reserve(500, now=0.0), Reservation)


def test_every_request_waits_for_the_limit_retries_included() -> None:
    limit = RateLimit(requests_per_minute=100, tokens_per_minute=10_000)
    extractor = extract.Extractor(LimitedBackend(FaultyBackend(), limit))
    with pytest.raises(extract.ExtractionError):
        extractor.run(Item, "doc 1 invalid", max_retries=2)
    assert [r.tokens for r in limit._window] == [8, 8, 8]  # three requests, as answered
    with pytest.raises(RuntimeError):
        extractor.run(Item, "doc 2 crash")
    assert limit._window[-1].tokens > 512  # a failed request keeps its guess (prompt + budget)
    answered = asyncio.run(
        extract.Extractor(LimitedBackend(AsyncFaultyBackend(), limit)).aextract(Item, "doc 3 ok")
    )
    assert answered == Item(n=3) and len(limit._window) == 5


def test_option_errors_are_raised_before_any_work() -> None:
    backend = FaultyBackend()
    with pytest.raises(extract.UsageError):
        extract.Extractor(backend).run_many(Item, ["doc 1"], order="random")  # type: ignore[arg-type]
    with pytest.raises(extract.UsageError):
        extract.Extractor(backend).run_many(Item, ["doc 1"], concurrency=0)
    with pytest.raises(extract.UsageError):
        extract.Extractor(backend).run_many(Item, ["doc 1"], max_tokens=0)
    assert backend.calls == 0


def test_output_recovery_drops_a_cut_off_line(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "a", "value": {"n": 1}}\n{"id": "b", "err')
    output = ResumableOutput(str(out))
    output.write({"id": "c", "value": {"n": 3}})
    output.close()
    assert output.done == {"a"}
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a", "c"]


# -- the command line --------------------------------------------------------------


def cli(*args: str, env: dict[str, str] | None = None, **kwargs: Any) -> Any:
    command = [sys.executable, "-m", "extract", "run", "--schema", "tests.batch_fakes:Item"]
    return subprocess.Popen(
        [*command, "--backend", "tests.batch_fakes:slow_backend", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def write_inputs(folder: Path, fates: list[str]) -> list[str]:
    """Half as a JSON Lines file, half as files in a folder; returns every id."""
    folder.mkdir()
    half = len(fates) // 2
    with open(folder / "docs.jsonl", "w") as f:
        for i, what in enumerate(fates[:half]):
            f.write(json.dumps({"id": f"j{i}", "text": f"doc {i} {what}"}) + "\n")
        f.write("not json\n")
    files = folder / "files"
    files.mkdir()
    for i, what in enumerate(fates[half:], half):
        (files / f"{i:03}.txt").write_text(f"doc {i} {what}")
    return (
        [f"j{i}" for i in range(half)]
        + [f"{folder / 'docs.jsonl'}:{half + 1}"]
        + [str(files / f"{i:03}.txt") for i in range(half, len(fates))]
    )


def test_cli_run_over_a_folder_and_jsonl_with_workers(tmp_path: Path) -> None:
    fates = ["ok", "invalid", "ok", "crash", "ok", "timeout", "ok", "ok"] * 3
    ids = write_inputs(tmp_path / "in", fates)
    out = tmp_path / "out.jsonl"
    proc = cli(
        "--input", str(tmp_path / "in" / "docs.jsonl"), "--input", str(tmp_path / "in" / "files"),
        "--output", str(out), "--workers", "2", "--max-retries", "0",
        env={"EXTRACT_CACHE": str(tmp_path / "cache.sqlite"), "FAKE_DELAY": "0"},
    )  # fmt: skip
    _, stderr = proc.communicate(timeout=120)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert Counter(line["id"] for line in lines) == Counter(ids)
    errors = Counter(line["error"].split(":")[0] for line in lines if "error" in line)
    assert errors == {"ExtractionError": 3, "RuntimeError": 3, "TimeoutError": 3, "InputError": 1}
    assert proc.returncode == 1
    assert "15 extracted" in stderr and "10 failed" in stderr


def test_cli_killed_mid_run_resumes_without_gaps_or_duplicates(tmp_path: Path) -> None:
    fates = ["ok", "ok", "invalid", "ok"] * 15
    ids = write_inputs(tmp_path / "in", fates)
    out = tmp_path / "out.jsonl"
    args = ("--input", str(tmp_path / "in"), "--output", str(out), "--max-retries", "0")
    env = {"EXTRACT_CACHE": str(tmp_path / "cache.sqlite"), "FAKE_DELAY": "0.05"}
    first = cli(*args, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 10):
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    written = out.read_text().count("\n")
    assert 10 <= written < len(ids)  # killed mid-run, with work left to do
    second = cli(*args, env=env)
    _, stderr = second.communicate(timeout=120)
    assert f"resuming: {written} ids" in stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert Counter(line["id"] for line in lines) == Counter(ids)  # no gaps, no duplicates


def test_cli_retry_failed_redoes_only_the_error_lines(tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    fates = ["ok", "crash", "ok", "timeout", "invalid", "ok"]
    docs.write_text(
        "".join(
            json.dumps({"id": f"d{i}", "text": f"doc {i} {w}"}) + "\n" for i, w in enumerate(fates)
        )
    )
    out = tmp_path / "out.jsonl"
    args = ("--input", str(docs), "--output", str(out), "--max-retries", "0", "--no-cache")
    env = {"FAKE_DELAY": "0"}
    cli(*args, env=env).communicate(timeout=120)
    first = out.read_text().splitlines()
    assert sum("error" in json.loads(line) for line in first) == 3
    with out.open("a") as f:  # a failure from another input set: not this run's to retry
        f.write(json.dumps({"id": "elsewhere", "error": "InputError: gone"}) + "\n")
    first = out.read_text().splitlines()
    # What made them fail is fixed (here: the texts); a plain rerun redoes nothing...
    docs.write_text(
        "".join(json.dumps({"id": f"d{i}", "text": f"doc {i} ok"}) + "\n" for i in range(6))
    )
    _, stderr = cli(*args, env=env).communicate(timeout=120)
    assert "resuming: 7 ids" in stderr and out.read_text().splitlines() == first
    # ...and --retry-failed takes the error lines out and extracts those ids again.
    _, stderr = cli(*args, "--retry-failed", env=env).communicate(timeout=120)
    assert "retrying 3 failed ids" in stderr and "resuming: 4 ids" in stderr, stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert Counter(line["id"] for line in lines) == Counter(
        [*(f"d{i}" for i in range(6)), "elsewhere"]
    )
    values = {line["id"]: line["value"]["n"] for line in lines if "value" in line}
    assert values == {f"d{i}": i for i in range(6)}
    kept = [line for line in first if "error" not in json.loads(line)]
    assert out.read_text().splitlines()[: len(kept)] == kept  # successes left as they were


def test_parquet_inputs_give_documents_and_say_what_is_wrong(tmp_path: Path) -> None:
    pyarrow = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")

    from extract.features.batch import Document, count_inputs, read_inputs

    with_ids = tmp_path / "a.parquet"
    parquet.write_table(
        pyarrow.table({"id": ["x", None, "z"], "text": ["one", "two", None]}), with_ids
    )
    no_ids = tmp_path / "b.parquet"
    parquet.write_table(pyarrow.table({"text": ["three"]}), no_ids)
    no_text = tmp_path / "c.parquet"
    parquet.write_table(pyarrow.table({"body": ["four", "five"]}), no_text)
    broken = tmp_path / "d.parquet"
    broken.write_bytes(b"PAR1 not really")
    items = list(read_inputs([str(tmp_path / "*.parquet")]))
    assert items[:2] == [Document("x", "one"), Document(f"{with_ids}:2", "two")]
    assert items[2] == extract.Outcome.failed(
        f"{with_ids}:3", "InputError", 'row 3 has no "text" string'
    )
    assert items[3] == Document(f"{no_ids}:1", "three")
    assert items[4] == extract.Outcome.failed(
        str(no_text), "InputError", f'{no_text} has no "text" column'
    )
    assert isinstance(items[5], extract.Outcome) and items[5].error
    assert items[5].error.startswith(f"InputError: cannot read {broken}")
    assert len(items) == 6
    assert count_inputs([str(tmp_path)]) == 3 + 1 + 1 + 1


def test_progress_reports_on_stderr_and_changes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    inputs = texts(["ok", "invalid", "ok", "crash", "ok", "ok"])
    extractor = extract.Extractor(FaultyBackend())
    plain = list(extractor.run_many(Item, inputs, max_retries=0))
    assert capsys.readouterr().err == ""
    shown = list(extractor.run_many(Item, inputs, max_retries=0, progress=True))
    assert [(o.id, o.value, o.error) for o in shown] == [(o.id, o.value, o.error) for o in plain]
    err = capsys.readouterr().err
    assert "1/6 done" in err  # off a terminal: a status line, with the total from len()
    assert "4 extracted (0 from the cache), 2 failed (1 ExtractionError, 1 RuntimeError)" in err

    async def collect() -> list[extract.Outcome]:
        return [o async for o in extractor.arun_many(Item, iter(inputs), progress=True)]

    assert len(asyncio.run(collect())) == 6
    err = capsys.readouterr().err
    assert "1 done," in err and "4 extracted" in err  # an iterator: no total to show


def _open_cache_after(path: Path, barrier: Any) -> None:
    barrier.wait()
    cache = extract.ResultCache(path)
    cache.put(str(os.getpid()), {"value": 1})
    cache.close()


def test_workers_opening_a_new_cache_at_once_all_get_it(tmp_path: Path) -> None:
    """Worker processes (or Ray actors) open the cache together when a run starts; the
    first ones race to set up the new file, and SQLite's "database is locked" there
    once broke a whole worker pool (about one start in fifteen, three workers)."""
    import multiprocessing
    import warnings

    context = multiprocessing.get_context("fork")
    for trial in range(40):
        path = tmp_path / f"{trial}.sqlite"
        barrier = context.Barrier(4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
            workers = [
                context.Process(target=_open_cache_after, args=(path, barrier)) for _ in range(4)
            ]
            for worker in workers:
                worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert [w.exitcode for w in workers] == [0, 0, 0, 0], f"trial {trial}"
        with extract.ResultCache(path) as cache:
            assert len(cache) == 4


def test_concurrency_is_capped_by_what_the_backend_declares_not_by_grammar() -> None:
    from extract.backends import Capabilities
    from extract.core._runner import concurrency_for
    from extract.testing import FakeBackend

    fake = FakeBackend()  # enforces a grammar, but serves any number of callers
    assert fake.capabilities.grammar and concurrency_for(fake, None) == 8
    assert concurrency_for(fake, 3) == 3

    class OneContext(FakeBackend):
        @property
        def capabilities(self) -> Capabilities:
            return Capabilities(grammar=True, max_concurrency=1)

    assert concurrency_for(OneContext(), 4) == 1
    with pytest.raises(extract.UsageError, match="concurrency"):
        concurrency_for(fake, 0)


def test_one_rate_limit_shared_by_two_extractors_counts_both() -> None:
    limit = extract.RateLimit(requests_per_minute=3)
    first = extract.Extractor(FaultyBackend(), rate_limit=limit)
    second = extract.Extractor(FaultyBackend(), rate_limit=limit)
    assert first.extract(Item, "doc 0 ok", max_retries=0) == Item(n=0)
    assert first.extract(Item, "doc 1 ok", max_retries=0) == Item(n=1)
    assert second.extract(Item, "doc 2 ok", max_retries=0) == Item(n=2)
    assert isinstance(limit.reserve(), float)  # three requests this minute: wait
    with pytest.raises(extract.UsageError, match="rate_limit must be"):
        extract.Extractor(FaultyBackend(), rate_limit=60)  # type: ignore[arg-type]
