"""The one-off corpus (tests/corpus/oneoff.py): gold validates, no two cases share a
schema, and every gold string is written in the text, so the set can be extracted."""

from __future__ import annotations

import json

import pytest

from tests.corpus import strings
from tests.corpus.oneoff import CASES, OneOff, field_scores

IDS = [case.id for case in CASES]


def test_enough_cases_with_unique_ids() -> None:
    assert len(CASES) >= 12
    assert len(set(IDS)) == len(IDS)


def test_every_case_has_its_own_schema() -> None:
    schemas = {json.dumps(case.target.model_json_schema(), sort_keys=True) for case in CASES}
    assert len(schemas) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gold_validates_and_fits_the_brief(case: OneOff) -> None:
    case.target.model_validate(case.gold)
    assert 300 <= len(case.text) <= 900
    assert 2 <= len(case.target.model_fields) <= 7


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_gold_string_is_in_the_text(case: OneOff) -> None:
    value = case.target.model_validate(case.gold).model_dump()
    missing = [s for s in strings(value) if s.casefold() not in case.text.casefold()]
    assert not missing


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gold_scores_perfectly_and_failure_misses_all(case: OneOff) -> None:
    gold = case.target.model_validate(case.gold)
    right = field_scores(case, gold)
    assert right.fp == right.fn == 0 and right.tp > 0
    failed = field_scores(case, None)
    assert (failed.tp, failed.fp, failed.fn) == (0, 0, right.tp)
