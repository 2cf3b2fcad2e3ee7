"""``extract eval``: systems over gold documents, a table per field, reports to keep."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .._api import Extractor
from .._errors import UsageError
from .._targets import load_target
from ..evaluation import Dataset, EvalReport, evaluate


def cmd_eval(args: argparse.Namespace) -> int:
    target = load_target(args.schema)
    data = Dataset.from_jsonl(args.data, target)
    # Everything that can be wrong is found before the first document runs.
    baseline = EvalReport.load(args.baseline) if args.baseline else None
    for path in (args.json, args.html):
        if path and not os.access(os.path.dirname(os.path.abspath(path)), os.W_OK):
            raise UsageError(f"extract eval: cannot write {path}")
    systems = [_system(spec) for spec in args.system or []] or [("default", {})]
    if args.backend and args.model:
        raise UsageError("extract eval: give --model or --backend, not both")
    models = args.model or [None]
    counts = [s["examples"] for _, s in systems if isinstance(s.get("examples"), int)]
    shots: int = max(counts, default=0)
    if shots and shots >= len(data):
        raise UsageError(
            f"extract eval: {shots} documents as examples leave none of the {len(data)} to score"
        )
    examples, data = data.split(shots)  # documents shown as examples are never scored
    plan: dict[str, Any] = {}
    for model in models:
        extractor = Extractor(load_target(args.backend)() if args.backend else model)
        for name, options in systems:
            options = dict(options)
            if isinstance(options.get("examples"), int):
                chosen = list(examples)[: options["examples"]]
                options["examples"] = [(d.text, d.gold) for d in chosen]
            label = name if len(models) == 1 else f"{name}@{model or 'default'}"
            if len(systems) == 1 and len(models) > 1:
                label = model or "default"
            plan[label] = (extractor, options)
    report = _run(target, data, plan, args)
    if shots:
        report.left_out += shots
        report.notes.append(f"the first {shots} documents were used as examples, not scored")
    print(report.render(), file=sys.stdout)
    if args.json:
        report.save(args.json)
        print(f"report: {args.json}", file=sys.stderr)
    if args.html:
        with open(args.html, "w", encoding="utf-8") as f:
            f.write(report.to_html())
        print(f"page: {args.html}", file=sys.stderr)
    if baseline is not None:
        print(report.compare(baseline))
    return 0


def _run(target: Any, data: Dataset, plan: dict[str, Any], args: argparse.Namespace) -> EvalReport:
    return evaluate(
        target, data, plan, repeat=args.repeat, progress=not args.quiet,
        max_retries=args.max_retries, tolerance=args.tolerance,
    )  # fmt: skip


def _system(spec: str) -> tuple[str, dict[str, Any]]:
    name, sep, options = spec.partition("=")
    if not sep or not name:
        raise UsageError(f"--system NAME=JSON, e.g. shots='{{\"examples\": 3}}', not {spec!r}")
    try:
        parsed = json.loads(options) if options.strip() else {}
    except ValueError as exc:
        raise UsageError(f"--system {name}: the options are not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise UsageError(f"--system {name}: the options must be a JSON object")
    examples = parsed.get("examples")
    if examples is not None and (
        isinstance(examples, bool) or not isinstance(examples, int) or examples < 0
    ):
        raise UsageError(f"--system {name}: examples is a count of gold documents to show")
    return name, parsed


def add_eval_parser(sub: Any) -> None:
    ev = sub.add_parser("eval", help="score systems against gold records, field by field")
    ev.add_argument("--schema", required=True, help="package.module:Model or schema.json")
    ev.add_argument("--data", required=True, help='gold JSON Lines: {"id", "text", "gold"}')
    ev.add_argument("--model", action="append", help="GGUF path, openai:MODEL...; repeatable")
    ev.add_argument("--backend", help="package.module:factory returning a backends.Backend")
    ev.add_argument(
        "--system",
        action="append",
        help="NAME=JSON options, e.g. plain= or shots='{\"examples\": 3}' (the first 3 "
        "gold documents as examples, scored by no system); repeatable",
    )
    ev.add_argument("--repeat", type=int, default=1, help="runs per system (mean and spread)")
    ev.add_argument("--tolerance", type=float, default=1e-6, help="relative, for numbers")
    ev.add_argument("--max-retries", type=int, default=2)
    ev.add_argument("--json", help="write the full report (every document) here")
    ev.add_argument("--html", help="write a self-contained HTML page here")
    ev.add_argument("--baseline", help="a saved --json report to compare against")
    ev.add_argument("--quiet", action="store_true", help="no progress")
    ev.set_defaults(func=cmd_eval)
