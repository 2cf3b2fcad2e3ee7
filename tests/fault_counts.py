"""What the fault-and-fuzz tests tried: inputs, faults injected, records accounted for.

Each test calls ``record`` once per case it checks. With ``EXTRACT_FAULT_COUNTS`` set to
a file path, every call appends one JSON line there, and

    python -m tests.fault_counts FILE

sums them per suite (docs/benchmarks/reliability.md quotes that table). Without the
variable ``record`` does nothing, so the tests cost nothing extra.
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict

_FIELDS = ("inputs", "faults", "accounted")


def record(suite: str, *, inputs: int = 0, faults: int = 0, accounted: int = 0) -> None:
    """One checked case of ``suite``: how many inputs went in, how many faults were
    injected, and how many records came out accounted for (value, error or quarantine)."""
    path = os.environ.get("EXTRACT_FAULT_COUNTS")
    if not path:
        return
    line = {"suite": suite, "inputs": inputs, "faults": faults, "accounted": accounted}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


def totals(path: str) -> dict[str, dict[str, int]]:
    """Per suite: cases checked and the sums of each count."""
    sums: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(("cases", *_FIELDS), 0))
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = json.loads(raw)
            suite = sums[line["suite"]]
            suite["cases"] += 1
            for name in _FIELDS:
                suite[name] += int(line[name])
    return dict(sums)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.fault_counts FILE", file=sys.stderr)
        return 2
    found = totals(argv[0])
    print("| suite | cases | inputs | faults injected | accounted for |")
    print("|---|---:|---:|---:|---:|")
    for suite, n in sorted(found.items()):
        print(f"| {suite} | {n['cases']} | {n['inputs']} | {n['faults']} | {n['accounted']} |")
    every = {k: sum(n[k] for n in found.values()) for k in ("cases", *_FIELDS)}
    print(
        f"| all | {every['cases']} | {every['inputs']} | {every['faults']} | {every['accounted']} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
