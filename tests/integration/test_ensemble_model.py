"""Ensembles of the embedded model's samples, end to end on the benchmark corpus."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import extract
from extract import Ensemble
from tests.corpus import Contact, Team

pytestmark = pytest.mark.model

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def _documents(name: str, n: int) -> list[dict[str, Any]]:
    with open(CORPUS / f"{name}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f][:n]


def test_samples_of_one_model_are_voted_and_reuse_its_prompt(extractor: Any) -> None:
    doc = _documents("contacts", 1)[0]
    ensemble = Ensemble([extractor], samples=3, temperature=0.7)
    result = ensemble.run(Contact, doc["text"])
    assert isinstance(result.value, Contact)
    assert len(result.candidates) == 3 and all(c.result for c in result.candidates)
    # One model loaded once: the second and third samples find the prompt evaluated.
    cached = [c.result.usage.cached_prompt_tokens for c in result.candidates]
    prompt = result.candidates[0].result.usage.prompt_tokens
    assert all(c >= prompt // 2 for c in cached[1:]), cached
    assert result.usage == sum((c.result.usage for c in result.candidates), extract.Usage())
    leaves = {"/name", "/email", "/phone", "/company", "/city", "/role"}
    assert leaves <= set(result.confidence)
    for pointer in leaves:  # the share agreeing is a count of three members
        assert result.confidence[pointer] in (1 / 3, 2 / 3, 1.0)
    agreeing = [
        c for c in result.candidates if c.value.name.casefold() == result.value.name.casefold()
    ]
    assert result.confidence["/name"] == pytest.approx(len(agreeing) / 3)


def test_one_greedy_member_is_the_model_itself(extractor: Any) -> None:
    doc = _documents("teams", 1)[0]
    alone = extractor.run(Team, doc["text"])
    voted = Ensemble([extractor]).run(Team, doc["text"])
    assert voted.value == alone.value
    assert set(voted.confidence.values()) == {1.0}


def test_run_many_and_the_cli_vote_every_document(extractor: Any, tmp_path: Path) -> None:
    docs = _documents("contacts", 3)
    ensemble = Ensemble([extractor], samples=2, temperature=0.5)
    outcomes = list(ensemble.run_many(Contact, [(d["id"], d["text"]) for d in docs]))
    assert [o.id for o in outcomes] == [d["id"] for d in docs]
    assert all(o.ok and len(o.result.candidates) == 2 for o in outcomes)
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n" for d in docs[:2])
    )
    out = tmp_path / "out.jsonl"
    command = [
        sys.executable, "-m", "extract", "run", "--schema", "tests.corpus:Contact",
        "--input", str(source), "--output", str(out), "--samples", "2", "--no-cache", "--quiet",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=CORPUS.parent.parent)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == [d["id"] for d in docs[:2]]
    for line in lines:
        Contact.model_validate(line["value"])
        assert line["model"].startswith("ensemble[") and "#2" in line["model"]
        assert set(line["confidence"]) >= {"/name", "/email"}
