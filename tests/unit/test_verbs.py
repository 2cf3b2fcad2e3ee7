"""Every verb on every kind of runner: written once (``extract.api._verbs``), they work
the same on an extractor and on an ensemble here, and on a distilled student in
``tests/integration/test_distill.py``. Before, ``Ensemble(...).stream`` raised AttributeError."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import BaseModel

import extract
from extract.testing import ScriptedBackend


class Member(BaseModel):
    name: str
    role: str


TEXT = "Ada Lovelace (engineer) and Alan Turing (scientist)."
ANSWER = [
    {"name": "Ada Lovelace", "role": "engineer"},
    {"name": "Alan Turing", "role": "scientist"},
]


def check_every_verb(verbs: Any, target: Any, text: str) -> Any:
    """Runs every verb of ``verbs`` on ``text``; each must give the same value. Returns it."""
    result = verbs.run(target, text)
    value = result.value
    assert verbs.extract(target, text) == value
    assert asyncio.run(verbs.arun(target, text)).value == value
    assert asyncio.run(verbs.aextract(target, text)) == value
    events = list(verbs.stream(target, text))
    assert isinstance(events[-1], extract.Result) and events[-1].value == value
    assert all(isinstance(e, extract.Snapshot) for e in events[:-1])

    async def astream() -> list[Any]:
        return [e async for e in verbs.astream(target, text)]

    assert asyncio.run(astream())[-1].value == value
    if isinstance(value, list):
        items = verbs.iter_items(target, text)
        assert list(items) == value and items.result.value == value

        async def aitems() -> list[Any]:
            return [item async for item in verbs.aiter_items(target, text)]

        assert asyncio.run(aitems()) == value
    else:  # a list's items only: the error says what it takes
        with pytest.raises(extract.UsageError, match="list"):
            verbs.iter_items(target, text)
    outcomes = list(verbs.run_many(target, [text, ("b", text)], concurrency=1))
    assert [o.id for o in outcomes] == ["0", "b"] and all(o.value == value for o in outcomes)

    async def arun_many() -> list[Any]:
        return [o async for o in verbs.arun_many(target, [text], concurrency=1)]

    assert [o.value for o in asyncio.run(arun_many())] == [value]
    assert isinstance(verbs.name, str) and verbs.name
    return value


def scripted(answer: Any = ANSWER, calls: int = 40) -> extract.Extractor:
    return extract.Extractor(ScriptedBackend([json.dumps(answer)] * calls))


def test_every_verb_on_an_extractor() -> None:
    value = check_every_verb(scripted(), list[Member], TEXT)
    assert [m.name for m in value] == ["Ada Lovelace", "Alan Turing"]


def test_every_verb_on_an_ensemble() -> None:
    ensemble = extract.Ensemble([scripted(), scripted(), scripted(ANSWER[:1])])
    value = check_every_verb(ensemble, list[Member], TEXT)
    assert [m.name for m in value] == ["Ada Lovelace", "Alan Turing"]  # two of three agree
    result = ensemble.run(list[Member], TEXT)
    assert result.confidence["/1/name"] == pytest.approx(2 / 3) and len(result.candidates) == 3


def test_every_verb_on_an_ensemble_with_weights_and_samples() -> None:
    heavy = extract.Member(scripted(ANSWER[:1]), weight=3.0)
    ensemble = extract.Ensemble([heavy, scripted()], samples=2, temperature=0.5)
    value = check_every_verb(ensemble, list[Member], TEXT)
    assert [m.name for m in value] == ["Ada Lovelace"]  # the heavier member's list
    assert len(ensemble.members) == 4


def test_an_ensemble_refuses_a_rate_limit_and_nesting() -> None:
    ensemble = extract.Ensemble([scripted()])
    with pytest.raises(extract.UsageError, match="rate limit"):
        list(ensemble.run_many(list[Member], [TEXT], requests_per_minute=60))
    with pytest.raises(extract.UsageError, match="inner members"):
        extract.Ensemble([ensemble])
    with pytest.raises(extract.UsageError, match="an Extractor or a Member"):
        extract.Ensemble(["not an extractor"])  # type: ignore[list-item]
