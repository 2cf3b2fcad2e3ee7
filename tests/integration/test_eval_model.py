"""`extract eval` end to end on the embedded model over the benchmark corpus: two
systems (with and without examples), the saved report recomputed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extract.apps.cli import main

CORPUS = Path(__file__).resolve().parents[1] / "corpus"

pytestmark = pytest.mark.model


def test_two_prompts_on_the_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = (CORPUS / "invoices.jsonl").read_text(encoding="utf-8").splitlines()[:5]
    gold = tmp_path / "invoices.jsonl"
    gold.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "report.json"
    argv = ["eval", "--schema", "tests.corpus:Invoice", "--data", str(gold),
            "--system", "plain=", "--system", 'shots={"examples": 2}', "--json", str(out),
            "--quiet"]  # fmt: skip
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "plain" in table and "shots" in table and "/items/*/unit_price" in table
    data = json.loads(out.read_text())
    assert data["left_out"] == 2
    ids = [json.loads(line)["id"] for line in lines[2:]]
    for name in ("plain", "shots"):
        rows = [d for d in data["documents"] if d["system"] == name]
        assert [d["id"] for d in rows] == ids  # the examples are not scored
        tp = sum(c["tp"] for d in rows for c in d["fields"].values())
        fp = sum(c["fp"] for d in rows for c in d["fields"].values())
        fn = sum(c["fn"] for d in rows for c in d["fields"].values())
        micro = data["systems"][name]["micro"]
        assert micro["precision"] == pytest.approx(tp / (tp + fp) if tp + fp else 1.0)
        assert micro["recall"] == pytest.approx(tp / (tp + fn))
        # the gold of every document counts in full: support is every gold value
        support = sum(f["support"] for f in data["systems"][name]["fields"].values())
        assert support == tp + fn > 0
        assert data["systems"][name]["valid"] == 1.0


def test_a_calibration_fitted_by_eval_is_used_by_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`extract eval --fit-calibration` on gold contacts, then `extract run
    --calibration`: the run's confidences are the fitted map's, per field."""
    from extract import Calibration

    lines = (CORPUS / "contacts.jsonl").read_text(encoding="utf-8").splitlines()[:4]
    gold = tmp_path / "contacts.jsonl"
    gold.write_text("\n".join(lines) + "\n", encoding="utf-8")
    saved = tmp_path / "contact.calibration.json"
    argv = ["eval", "--schema", "tests.corpus:Contact", "--data", str(gold),
            "--fit-calibration", str(saved), "--quiet"]  # fmt: skip
    assert main(argv) == 0
    calibration = Calibration.load(saved)
    assert calibration.source == "tokens" and calibration.values >= 6
    out = tmp_path / "run.jsonl"
    argv = ["run", "--schema", "tests.corpus:Contact", "--input", str(gold), "--no-cache",
            "--output", str(out), "--calibration", str(saved)]  # fmt: skip
    assert main(argv) == 0
    raw_out = tmp_path / "raw.jsonl"
    argv = ["run", "--schema", "tests.corpus:Contact", "--input", str(gold), "--no-cache",
            "--output", str(raw_out)]  # fmt: skip
    assert main(argv) == 0
    calibrated = [json.loads(line) for line in out.read_text().splitlines()]
    raw = {r["id"]: r for r in map(json.loads, raw_out.read_text().splitlines())}
    assert calibrated and all("confidence" in r for r in calibrated)
    for line in calibrated:  # greedy: the same answer, its confidences mapped
        assert line["value"] == raw[line["id"]]["value"]
        assert line["confidence"] == pytest.approx(calibration.apply(raw[line["id"]]["confidence"]))
