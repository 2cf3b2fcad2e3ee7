"""The portable llama-cpp-python build against a native one, side by side on one machine.

Two builds cannot share a process, so each lives in its own environment and
``benchmarks/local.py --systems ours`` runs under each interpreter in turn, alternating
for ``--rounds`` rounds so machine drift hits both alike. Reported: records/s, ms/record,
decode tokens/s (mask and sampling included) and plain greedy tokens/s, per build, as
the median over rounds, and each build's ratio to the first one.

    make runtime                                           # .venv, portable (default)
    make runtime VENV=.venv-native LLAMA_BUILD=native      # a second venv, native
    python -m benchmarks.builds --build portable=.venv/bin/python \\
        --build native=.venv-native/bin/python --limit 4 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from extract.backends._cpu import library_features  # noqa: E402 - after the repository root

METRICS = (
    ("records/s", "records_per_s"),
    ("ms/record p50", "p50_ms"),
    ("tokens/s (wall)", "tokens_per_s"),
    ("field F1", "field_f1"),
)


def system_info(python: str) -> str:
    """The features the build in ``python``'s environment was compiled with."""
    code = "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return " ".join(sorted(library_features(out.stdout)))


def one_run(python: str, limit: int, threads: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "local.json"
        command = [
            python, str(HERE / "local.py"), "--systems", "ours", "--limit", str(limit),
            "--threads", str(threads), "--json", str(out),
        ]  # fmt: skip
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        payload = json.loads(out.read_text(encoding="utf-8"))
    row: dict[str, float] = dict(payload["systems"]["ours"])
    row["decode_tokens_per_s"] = payload["decode_overhead"]["ours_tokens_per_s"]
    row["greedy_tokens_per_s"] = payload["decode_overhead"]["raw_tokens_per_s"]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--build", action="append", required=True, metavar="NAME=PYTHON",
        help="a build's name and the interpreter of its environment (twice or more)",
    )  # fmt: skip
    parser.add_argument("--limit", type=int, default=4, help="documents per task")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", dest="json_out", type=Path)
    args = parser.parse_args()
    builds = dict(item.split("=", 1) for item in args.build)
    if len(builds) < 2:
        parser.error("give at least two --build NAME=PYTHON")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in builds}
    for number in range(args.rounds):
        order = list(builds) if number % 2 == 0 else list(reversed(builds))
        for name in order:
            print(f"round {number + 1}/{args.rounds}: {name}", file=sys.stderr, flush=True)
            runs[name].append(one_run(builds[name], args.limit, args.threads))
    keys = [key for _, key in METRICS] + ["decode_tokens_per_s", "greedy_tokens_per_s"]
    medians = {
        name: {key: statistics.median(r[key] for r in rows) for key in keys}
        for name, rows in runs.items()
    }
    base = medians[next(iter(builds))]
    print(
        f"{3 * args.limit} documents, {args.threads} threads, {args.rounds} alternating rounds, "
        "medians\n\n| build | compiled with | records/s | ms/record p50 | decode tokens/s "
        "| greedy tokens/s | field F1 | records/s ÷ first |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    for name, m in medians.items():
        print(
            f"| {name} | {system_info(builds[name])} | {m['records_per_s']:.2f} "
            f"| {m['p50_ms']:.0f} | {m['decode_tokens_per_s']:.1f} "
            f"| {m['greedy_tokens_per_s']:.1f} | {m['field_f1']:.3f} "
            f"| {m['records_per_s'] / base['records_per_s']:.2f}x |"
        )
    if args.json_out:
        args.json_out.write_text(json.dumps({"rounds": runs, "medians": medians}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
