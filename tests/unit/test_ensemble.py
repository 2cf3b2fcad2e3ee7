"""``extract.Ensemble`` over scripted members: the vote, failures, fallback, batches."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, model_validator

import extract
from extract import Ensemble, Extractor, Member, UsageError
from extract.testing import ScriptedBackend


class Range(BaseModel):
    low: int
    high: int

    @model_validator(mode="after")
    def ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


class Person(BaseModel):
    name: str
    city: str | None = None


def scripted(*outputs: Any) -> Extractor:
    return Extractor(ScriptedBackend([o if isinstance(o, str) else json.dumps(o) for o in outputs]))


_pairs = st.tuples(st.integers(0, 5), st.integers(0, 5)).map(sorted)


@given(st.lists(_pairs, min_size=1, max_size=5))
@settings(max_examples=150, deadline=None)
def test_the_voted_value_validates_or_the_fallback_is_reported(pairs: list[list[int]]) -> None:
    members = [scripted({"low": lo, "high": hi}) for lo, hi in pairs]
    result = Ensemble(members).run(Range, "text", max_retries=0)
    assert isinstance(result.value, Range)
    voted = json.loads(result.raw)
    answers = [{"low": lo, "high": hi} for lo, hi in pairs]
    if result.fallback is None:
        assert result.value.model_dump() == voted  # the vote itself, validated
    else:
        assert "did not validate" in result.fallback
        assert result.value.model_dump() in answers  # one member's answer, as it was
        assert voted == result.value.model_dump()
    assert len(result.candidates) == len(pairs)
    assert result.confidence[""] == 1.0


def test_a_failing_member_is_reported_and_the_vote_goes_on() -> None:
    good = [scripted({"name": "Ada", "city": "Paris"}) for _ in range(2)]
    broken = scripted("not json at all", "still not json")
    result = Ensemble([*good, broken]).run(Person, "Ada lives in Paris.", max_retries=1)
    assert result.value == Person(name="Ada", city="Paris")
    assert [c.error is None for c in result.candidates] == [True, True, False]
    assert result.candidates[2].error.startswith("ExtractionError: ")
    # A member that failed agrees with nothing: confidence is a share of all members.
    assert result.confidence == {"": pytest.approx(2 / 3), "/name": pytest.approx(2 / 3),
                                 "/city": pytest.approx(2 / 3)}  # fmt: skip
    assert len(result.attempts) == 1 + 1 + 2  # the failed member's attempts are counted too
    # Retries are counted within each member: members answering differently are no retry.
    assert result.retries == 1 and result.changed_retries == 1
    agreeing = Ensemble([scripted({"name": "Ada"}), scripted({"name": "Bo"})]).run(Person, "x")
    assert agreeing.retries == 0 and agreeing.changed_retries == 0


def test_when_every_member_fails_the_error_names_each() -> None:
    members = [scripted("nope"), scripted("nope either")]
    with pytest.raises(extract.ExtractionError) as caught:
        Ensemble(members).run(Person, "text", max_retries=0)
    assert len(caught.value.attempts) == 2
    assert "every ensemble member failed" in "\n".join(caught.value.__notes__)


def test_confidence_usage_and_candidates() -> None:
    members = [
        scripted({"name": "Ada", "city": "Paris"}),
        scripted({"name": "Ada", "city": "Lyon"}),
        scripted({"name": "ada", "city": "Paris"}),
    ]
    result = Ensemble(members).run(Person, "Ada, Paris.")
    assert result.value == Person(name="Ada", city="Paris")
    assert result.confidence == {"": 1.0, "/name": 1.0, "/city": pytest.approx(2 / 3)}
    assert [c.value.city for c in result.candidates] == ["Paris", "Lyon", "Paris"]
    assert result.usage == sum((c.result.usage for c in result.candidates), extract.Usage())
    assert result.model.startswith("ensemble[")


def test_weights_decide_between_members() -> None:
    members = [
        Member(scripted({"name": "Ada"}), weight=1),
        Member(scripted({"name": "Bob"}), weight=3),
        Member(scripted({"name": "Cy"}), weight=1),
    ]
    assert Ensemble(members).extract(Person, "text").name == "Bob"


def test_lists_keep_items_only_some_members_found() -> None:
    members = [
        scripted(*[[{"name": "Ada"}, {"name": "Ken"}, {"name": "Grace"}]] * 2),
        scripted(*[[{"name": "Ada"}, {"name": "Grace"}]] * 2),
        scripted(*[[{"name": "Ken"}, {"name": "Grace"}, {"name": "Linus"}]] * 2),
    ]
    result = Ensemble(members).run(list[Person], "text")
    assert [p.name for p in result.value] == ["Ada", "Ken", "Grace"]
    assert [result.confidence[f"/{k}"] for k in range(3)] == pytest.approx([2 / 3, 2 / 3, 1.0])
    everyone = Ensemble(members, min_support=0.3).run(list[Person], "text")
    assert {p.name for p in everyone.value} == {"Ada", "Ken", "Grace", "Linus"}


def test_grounded_spans_come_from_an_agreeing_member() -> None:
    from extract import Quote

    class Found(BaseModel):
        name: Quote

    text = "Our speaker is Ada Lovelace."
    members = [scripted({"name": "Ada Lovelace"}), scripted({"name": "Ada Lovelace"})]
    result = Ensemble(members).run(Found, text)
    assert result.spans == {"/name": (15, 27)}
    assert text[15:27] == result.value.name


def test_async_and_run_many_and_the_cache(tmp_path: Any) -> None:
    def ensemble() -> Ensemble:
        return Ensemble([scripted(*[{"name": "Ada"}] * 3), scripted(*[{"name": "Ada"}] * 3)])

    assert asyncio.run(ensemble().aextract(Person, "Ada")) == Person(name="Ada")
    inputs = [("a", "Ada one"), ("b", "Ada two"), ("c", "")]
    cache = tmp_path / "cache.sqlite"
    outcomes = list(ensemble().run_many(Person, inputs, cache=cache))
    assert [o.id for o in outcomes] == ["a", "b", "c"]
    assert all(o.ok and o.value == Person(name="Ada") for o in outcomes)
    again = list(ensemble().run_many(Person, inputs, cache=cache))
    assert all(o.cached for o in again)  # the same ensemble: the same cache entries
    other = Ensemble([scripted(*[{"name": "Bo"}] * 3)], min_support=0.9)
    assert not any(o.cached for o in other.run_many(Person, inputs, cache=cache))

    async def collect() -> list[Any]:
        return [o async for o in ensemble().arun_many(Person, inputs)]

    assert [o.value for o in asyncio.run(collect())] == [Person(name="Ada")] * 3


def test_samples_get_their_own_seeds_and_temperature() -> None:
    backend = ScriptedBackend([json.dumps({"name": "Ada"})] * 3)
    ensemble = Ensemble([Extractor(backend)], samples=3, temperature=0.5, seed=7)
    result = ensemble.run(Person, "Ada")
    assert [r.seed for r in backend.requests] == [7, 8, 9]
    assert {r.temperature for r in backend.requests} == {0.5}
    assert [c.member for c in result.candidates] == ["scripted#1", "scripted#2", "scripted#3"]


def test_the_evaluation_harness_takes_an_ensemble() -> None:
    members = [
        scripted({"name": "Ada", "city": "Paris"}),
        scripted({"name": "Ada", "city": "Rome"}),
    ]
    report = extract.evaluate(
        Person, [("1", "Ada, Paris", {"name": "Ada", "city": "Paris"})], {"vote": Ensemble(members)}
    )
    assert report.systems == ["vote"]
    assert report.documents[0].prediction == {"name": "Ada", "city": "Paris"}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Ensemble([]), "at least one member"),
        (lambda: Ensemble([scripted()], samples=0), "samples"),
        (lambda: Ensemble([Member(scripted(), weight=0)]), "weight"),
        (lambda: Ensemble([Member(scripted(), options={"temprature": 1})]), "temprature"),
        (lambda: Ensemble([Ensemble([scripted()])]), "inner members"),
        (lambda: Ensemble(["model.gguf"]), "Extractor or a Member"),
        (lambda: Ensemble([scripted()], min_support=2), "min_support"),
    ],
)
def test_bad_settings_get_clear_errors(make: Any, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        make()


def test_a_rate_limit_belongs_to_the_members() -> None:
    with pytest.raises(UsageError, match="rate_limit"):
        list(Ensemble([scripted()]).run_many(Person, ["x"], requests_per_minute=10))


def test_the_eval_command_scores_ensembles_beside_a_single_model(tmp_path: Any) -> None:
    from extract.apps.cli import main
    from tests.unit.test_eval import _write_gold

    gold = _write_gold(tmp_path / "gold.jsonl")
    out = tmp_path / "r.json"
    # Two members forget the city, one keeps it: the city is voted out (1 of 3 < half).
    forget = {"instructions": "FORGET CITY"}
    argv = ["eval", "--schema", "tests.unit.test_eval:Person", "--data", str(gold),
            "--backend", "tests.eval_fakes:answer_in_text", "--system", "single=",
            "--system", "vote=" + json.dumps({"members": [{}, forget, forget]}),
            "--system", 'sampled={"samples": 3, "temperature": 0.5}',
            "--max-retries", "0", "--json", str(out), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(out.read_text())
    systems = data["systems"]
    assert systems["single"]["fields"]["/city"]["f1"] == 0.5
    assert systems["vote"]["fields"]["/city"]["f1"] == 0.0
    assert systems["sampled"]["micro"] == systems["single"]["micro"]  # the fake is greedy
    voted = [d for d in data["documents"] if d["system"] == "vote" and d["valid"]]
    assert len(voted) == 2  # the third document crashes every member: scored as a failure
    assert all(d["attempts"] == 3 and d["confidence"]["/name"] == 1.0 for d in voted)
    assert systems["sampled"]["by_confidence"]["unanimous"]["values"] > 0
    assert "by_confidence" not in systems["single"]
    bad = [*argv[:7], "--system", 'x={"members": {}}', "--quiet"]
    assert main(bad) == 2


class _Timed:
    """Hosted: answers once every member has met at a barrier (so they must run at
    once). Local: fails if another member runs beside it (they must take turns)."""

    def __init__(self, barrier: Any, active: list[int], local: bool) -> None:
        from extract.backends import Capabilities

        self.barrier, self.active, self.local = barrier, active, local
        self.capabilities = Capabilities(max_concurrency=1 if local else None)
        self.name = "local" if local else "hosted"

    def complete(self, request: Any) -> Any:
        import time

        from extract.backends import Completion

        self.active.append(1)
        try:
            if self.local:
                time.sleep(0.05)
                assert len(self.active) == 1, "two local members ran at once"
            else:
                self.barrier.wait(timeout=5)
        finally:
            self.active.pop()
        return Completion(json.dumps({"name": "Ada"}), "stop", prompt_tokens=1, completion_tokens=1)


def test_hosted_members_run_at_once_and_local_ones_in_turn() -> None:
    import threading

    barrier = threading.Barrier(3)
    hosted = [_Timed(barrier, [], local=False) for _ in range(3)]
    result = Ensemble([Extractor(b) for b in hosted]).run(Person, "Ada", max_retries=0)
    assert all(c.error is None for c in result.candidates)  # none waited alone at the barrier
    active: list[int] = []
    local = [_Timed(None, active, local=True) for _ in range(3)]
    mixed = [*local, _Timed(threading.Barrier(1), [], local=False)]
    result = Ensemble([Extractor(b) for b in mixed]).run(Person, "Ada", max_retries=0)
    assert all(c.error is None for c in result.candidates), result.candidates
