"""Token budgets and cost: checked before each call, shared where they should be, and a
cost that is known only where every part of it is."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

import extract
from extract.backends import Capabilities, Completion
from extract.testing import ScriptedBackend


class Item(BaseModel):
    name: str
    count: int


VALID = '{"name": "bolt", "count": 3}'
INVALID = '{"name": "bolt", "count": "many"}'


def spent(text: str, prompt: int = 100, completion: int = 50, cost: float | None = None) -> Any:
    return Completion(text, "stop", prompt_tokens=prompt, completion_tokens=completion, cost=cost)


def one_at_a_time(backend: ScriptedBackend) -> ScriptedBackend:
    backend._capabilities = Capabilities(grammar=False, max_concurrency=1)  # type: ignore[attr-defined]
    return backend


def test_the_extraction_budget_stops_before_the_call_that_would_pass_it() -> None:
    backend = ScriptedBackend([spent(INVALID), spent(INVALID), spent(VALID)])
    extractor = extract.Extractor(backend)
    with pytest.raises(extract.BudgetExceededError) as caught:
        extractor.run(Item, "three bolts", max_total_tokens=200)
    error = caught.value
    assert (error.scope, error.limit, error.spent) == ("extraction", 200, 300)
    assert len(error.attempts) == 2 and error.usage.total_tokens == 300
    assert len(backend.requests) == 2  # the third call was never made
    # Each call may write no more than the budget leaves (200, then 200 - 150).
    assert [r.max_tokens for r in backend.requests] == [200, 50]


def test_without_a_budget_the_same_script_ends_in_a_value() -> None:
    backend = ScriptedBackend([spent(INVALID), spent(INVALID), spent(VALID)])
    result = extract.Extractor(backend).run(Item, "three bolts")
    assert result.value == Item(name="bolt", count=3) and result.usage.total_tokens == 450


def test_the_batch_budget_fails_the_documents_left_and_loses_none() -> None:
    backend = one_at_a_time(ScriptedBackend([spent(VALID)] * 5))
    extractor = extract.Extractor(backend)
    texts = [f"text {i}" for i in range(5)]
    outcomes = list(extractor.run_many(Item, texts, budget_tokens=400, concurrency=1))
    assert [o.id for o in outcomes] == ["0", "1", "2", "3", "4"]
    assert [o.ok for o in outcomes] == [True, True, True, False, False]
    assert {o.error_type for o in outcomes[3:]} == {"BudgetExceededError"}
    assert "budget of 400 is spent (450 tokens)" in (outcomes[3].message or "")
    assert len(backend.requests) == 3


def test_a_cached_batch_with_a_budget_spends_nothing_the_second_time(tmp_path: Any) -> None:
    backend = one_at_a_time(ScriptedBackend([spent(VALID)] * 2))
    extractor = extract.Extractor(backend)
    cache = tmp_path / "cache.sqlite"

    def run() -> list[Any]:
        return list(extractor.run_many(Item, ["a", "b"], cache=cache, budget_tokens=1000))

    assert all(o.ok and not o.cached for o in run())
    again = run()  # the same key despite a new budget: nothing called, nothing spent
    assert all(o.cached for o in again) and len(backend.requests) == 2


def test_ensemble_members_share_the_extractions_budget() -> None:
    first = one_at_a_time(ScriptedBackend([spent(VALID)]))
    second = one_at_a_time(ScriptedBackend([spent(VALID)]))
    ensemble = extract.Ensemble([extract.Extractor(first), extract.Extractor(second)])
    result = ensemble.run(Item, "bolts", max_total_tokens=100)
    assert result.value == Item(name="bolt", count=3)
    assert result.usage.total_tokens == 150 and not second.requests
    assert "BudgetExceededError" in (result.candidates[1].error or "")
    wrong = one_at_a_time(ScriptedBackend([spent(INVALID)]))
    unasked = one_at_a_time(ScriptedBackend([]))
    spent_out = extract.Ensemble([extract.Extractor(wrong), extract.Extractor(unasked)])
    with pytest.raises(extract.BudgetExceededError):  # no member could answer at all
        spent_out.run(Item, "bolts", max_total_tokens=100)
    assert len(wrong.requests) == 1 and not unasked.requests


def test_budgets_are_checked_when_given() -> None:
    extractor = extract.Extractor(ScriptedBackend([]))
    for bad in (0, -5, 1.5, True, "100"):
        with pytest.raises(extract.UsageError, match="max_total_tokens"):
            extractor.run(Item, "x", max_total_tokens=bad)
        with pytest.raises(extract.UsageError, match="budget_tokens"):
            list(extractor.run_many(Item, ["x"], budget_tokens=bad))


def test_prices_give_the_cost_and_the_backends_own_figure_wins() -> None:
    prices = extract.Prices(input=1.0, output=2.0, cached_input=0.5)
    backend = ScriptedBackend(
        [
            Completion(INVALID, "stop", 1000, 500, cached_prompt_tokens=400),
            spent(VALID, cost=0.25),
        ]
    )
    result = extract.Extractor(backend, prices=prices).run(Item, "x")
    first = (600 * 1.0 + 400 * 0.5 + 500 * 2.0) / 1e6
    assert result.attempts[0].usage.cost == pytest.approx(first)
    assert result.usage.cost == pytest.approx(first + 0.25)
    unpriced = extract.Extractor(ScriptedBackend([spent(VALID)])).run(Item, "x")
    assert unpriced.usage.cost is None  # no price known: no number made up


@pytest.mark.parametrize("bad", [{"input": -1, "output": 1}, {"input": float("nan"), "output": 1}])
def test_prices_must_be_real_amounts(bad: dict[str, float]) -> None:
    with pytest.raises(extract.UsageError, match="Prices"):
        extract.Prices(**bad)
    with pytest.raises(extract.UsageError, match="prices"):
        extract.Extractor(ScriptedBackend([]), prices=(1.0, 2.0))  # type: ignore[arg-type]


usages = st.builds(
    extract.Usage,
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.integers(0, 100),
    st.none() | st.floats(0, 10, allow_nan=False),
)


@given(st.lists(usages, max_size=6))
def test_a_sums_cost_is_known_only_when_every_spending_part_is(parts: list[Any]) -> None:
    total = sum(parts, extract.Usage())
    spending = [u for u in parts if u.total_tokens or u.cost is not None]
    assert total.total_tokens == sum(u.total_tokens for u in parts)
    if not spending or any(u.cost is None for u in spending):
        assert total.cost is None
    else:
        assert total.cost == pytest.approx(sum(u.cost for u in spending))
    assert extract.Usage() + total == total == total + extract.Usage()


def test_the_command_lines_budget_writes_every_document_and_the_cost_less_summary(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from extract.apps.cli import main

    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(f'{{"id": "d{i}", "text": "doc {i} ok"}}\n' for i in range(6)))
    out = tmp_path / "out.jsonl"
    argv = ["run", "--schema", "tests.batch_fakes:Item", "--backend",
            "tests.batch_fakes:FaultyBackend", "--no-cache", "--quiet", "--concurrency", "1",
            "--budget-tokens", "20", "--output", str(out), str(docs)]  # fmt: skip
    assert main(argv) == 1  # some documents failed: the budget ran out
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == [f"d{i}" for i in range(6)]  # none lost
    # Each document spends 8 tokens: the third starts at 16 < 20, the fourth at 24.
    assert ["value" in line for line in lines] == [True, True, True, False, False, False]
    assert lines[3]["error"].startswith("BudgetExceededError: the batch's token budget of 20")
    err = capsys.readouterr().err
    assert "3 extracted (0 from the cache), 3 failed (3 BudgetExceededError); 24 tokens" in err


@pytest.mark.parametrize(
    "extra", [["--budget-tokens", "0"], ["--budget-tokens", "9", "--workers", "2"]]
)
def test_the_command_line_refuses_a_budget_it_cannot_keep(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    from extract.apps.cli import main

    (tmp_path / "doc.txt").write_text("doc 1 ok")
    argv = ["run", "--schema", "tests.batch_fakes:Item", "--backend",
            "tests.batch_fakes:FaultyBackend", "--no-cache", *extra, str(tmp_path / "doc.txt")]  # fmt: skip
    assert main(argv) == 2
    assert "--budget-tokens" in capsys.readouterr().err


def test_a_failed_documents_tokens_count_in_the_batch() -> None:
    backend = one_at_a_time(ScriptedBackend([spent(INVALID, cost=0.1), spent(VALID, cost=0.2)]))
    [outcome] = extract.Extractor(backend).run_many(Item, ["x"], max_retries=0)
    assert not outcome.ok and outcome.usage.total_tokens == 150
    assert outcome.usage.cost == pytest.approx(0.1)


class Windowed:
    """A model whose context holds 400 characters of document: longer ones are read in
    chunks, each answered with one item for 50 tokens."""

    def __init__(self) -> None:
        self.answered = 0

    @property
    def name(self) -> str:
        return "windowed"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(grammar=False, max_concurrency=1)

    def complete(self, request: Any) -> Completion:
        from extract.backends import ContextWindowExceeded

        if len(request.document or "") > 400:
            raise ContextWindowExceeded(900, 400, request.max_tokens)
        self.answered += 1
        return spent(f'[{{"name": "part {self.answered}", "count": 1}}]', 30, 20)


def test_the_chunks_of_a_long_document_share_its_budget() -> None:
    text = ". ".join(f"sentence {i} about bolts" for i in range(60))
    whole = extract.Extractor(Windowed()).run(list[Item], text, chunk_size=300)
    chunks = len(whole.value)
    assert chunks >= 4 and whole.usage.total_tokens == 50 * chunks
    backend = Windowed()
    with pytest.raises(extract.BudgetExceededError) as caught:
        extract.Extractor(backend).run(list[Item], text, chunk_size=300, max_total_tokens=120)
    assert backend.answered == 3  # 0, 50 and 100 tokens spent before each: the 4th is refused
    assert caught.value.spent == 150
