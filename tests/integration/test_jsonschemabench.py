"""Coverage smoke test on real-world schemas (JSONSchemaBench), via the benchmark itself.

A fixed sample (every 16th file, about 500 schemas from every subset) must compile
without a crash, be usable (fully or degraded), accept every valid instance the
grammar can spell, and reject every invalid one by grammar or post-validation.
The whole set is run by ``benchmarks/coverage.py`` (figures in docs/benchmarks/coverage.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import coverage
from tests.conftest import SHARED_DATA


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"no JSONSchemaBench data at {SHARED_DATA}")
def test_coverage_on_a_fixed_sample(tmp_path: Path) -> None:
    out = tmp_path / "coverage.json"
    code = coverage.main(["--data", str(SHARED_DATA), "--every", "16", "--json", str(out)])
    figures = json.loads(out.read_text())
    total = figures["subsets"]["ALL"]
    assert code == 0
    assert total["schemas"] >= 500
    assert total["crashed"] == 0
    usable = total["compiled_full"] + total["degraded"] + total["not_a_schema"]
    assert usable == total["schemas"]
    assert total["valid_accepted"] >= 0.99 * total["valid_total"]
    assert total["invalid_rejected"] == total["invalid_total"]
    assert total["compile_ms_max"] < 2000
