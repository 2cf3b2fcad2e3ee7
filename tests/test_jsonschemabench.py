"""Real-world schemas (JSONSchemaBench): the compiler never crashes, and what the
grammar cannot enforce is still caught by validation after decoding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import schemas
from tests.conftest import SHARED_DATA

# Every 16th file, in name order: about 500 schemas from every subset.
SAMPLE = sorted(SHARED_DATA.glob("*.json"))[::16] if SHARED_DATA.is_dir() else []


@pytest.mark.skipif(not SAMPLE, reason=f"JSONSchemaBench data not found at {SHARED_DATA}")
def test_sample_compiles_without_crashing() -> None:
    outcomes = {"full": 0, "degraded": 0, "not a schema": 0}
    wrongly_accepted = []
    for path in SAMPLE:
        data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        try:
            compiled = schemas.compile_schema(data["schema"])
        except schemas.SchemaError:
            outcomes["not a schema"] += 1
            continue
        outcomes["degraded" if compiled.report.degraded else "full"] += 1
        for test in data.get("tests", []):
            if not test["valid"]:
                outcome = compiled.validate(json.dumps(test["data"]))
                if not isinstance(outcome, schemas.Invalid):
                    wrongly_accepted.append(path.name)
    assert sum(outcomes.values()) == len(SAMPLE)
    assert outcomes["full"] > 0.7 * len(SAMPLE), outcomes
    assert not wrongly_accepted, wrongly_accepted[:10]
