"""``extract eval``: systems over gold documents, a table per field, reports to keep."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from extract.api._ensemble import Ensemble
from extract.api._extractor import Extractor
from extract.apps._targets import load_target
from extract.apps.evaluation import Dataset, EvalReport, evaluate
from extract.core._errors import UsageError
from extract.core._nearest import Nearest, parse_nearest
from extract.features.ensemble import Member

from ._paths import check_writable


def cmd_eval(args: argparse.Namespace) -> int:
    target = load_target(args.schema)
    data = Dataset.from_jsonl(args.data, target)
    # Everything that can be wrong is found before the first document runs.
    baseline = EvalReport.load(args.baseline) if args.baseline else None
    if args.json:
        check_writable(args.json, "report")
    if args.html:
        check_writable(args.html, "page")
    if args.fit_calibration:
        check_writable(args.fit_calibration, "calibration")
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
    loaded = {m: Extractor(load_target(args.backend)() if args.backend else m) for m in models}
    plan: dict[str, Any] = {}
    for name, options in systems:
        options = dict(options)
        if isinstance(options.get("examples"), int):
            chosen = list(examples)[: options["examples"]]
            options["examples"] = [(d.text, d.gold) for d in chosen]
        elif isinstance(options.get("examples"), str):  # never a document's own gold
            pool = [(d.text, d.gold) for d in data]
            options["examples"] = Nearest(pool, parse_nearest(options["examples"]))
        vote = _vote_settings(name, options)
        members = _members(name, options.pop("members", None))
        if options.pop("ensemble", False):  # every --model, voted as one system
            every = [_member(e, m) for e in loaded.values() for m in members or [{}]]
            plan[name] = (Ensemble(every, **vote), options)
            continue
        for model, extractor in loaded.items():
            label = name if len(models) == 1 else f"{name}@{model or 'default'}"
            if len(systems) == 1 and len(models) > 1:
                label = model or "default"
            if members:
                vote_of: Any = Ensemble([_member(extractor, m) for m in members], **vote)
            else:
                vote_of = Ensemble([extractor], **vote) if vote else extractor
            plan[label] = (vote_of, options)
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
    if args.fit_calibration:
        from extract.apps.evaluation import fit_calibration

        for name in report.systems:
            path = _calibration_path(args.fit_calibration, name, len(report.systems))
            fit_calibration(report, name).save(path)
            print(f"calibration of {name}: {path}", file=sys.stderr)
    return 0


def _calibration_path(given: str, system: str, systems: int) -> str:
    """One file per system: ``given`` itself when there is one system."""
    if systems == 1:
        return given
    stem, dot, suffix = given.rpartition(".")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in system)
    return f"{stem}.{safe}.{suffix}" if dot else f"{given}.{safe}"


def _run(target: Any, data: Dataset, plan: dict[str, Any], args: argparse.Namespace) -> EvalReport:
    return evaluate(
        target, data, plan, repeat=args.repeat, progress=not args.quiet,
        max_retries=args.max_retries, tolerance=args.tolerance,
    )  # fmt: skip


def _members(name: str, given: Any) -> list[dict[str, Any]]:
    """``members``: one option dict per member of the model's ensemble (``weight`` and
    any run option, e.g. ``{"prompt": "fields"}``)."""
    if given is None:
        return []
    if not isinstance(given, list) or not given or not all(isinstance(m, dict) for m in given):
        raise UsageError(f"--system {name}: members is a list of option objects, one per member")
    out = []
    for member in given:
        member = dict(member)
        weight = member.pop("weight", 1.0)
        out.append({"weight": weight, "options": member})
    return out


def _member(extractor: Extractor, settings: dict[str, Any]) -> Member:
    """A member named by its model and, when it has any, its own options."""
    options = settings.get("options", {})
    shown = ",".join(f"{k}={v}" for k, v in sorted(options.items()))
    name = f"{extractor.name} ({shown})" if shown else ""
    return Member(extractor, settings.get("weight", 1.0), options, name)


def _vote_settings(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """A system's ensemble settings, taken out of its options: ``samples`` (with
    ``temperature`` as the samples'), ``min_support``, ``min_similarity``."""
    vote: dict[str, Any] = {}
    samples = options.pop("samples", 1)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise UsageError(f"--system {name}: samples is a count of answers per model (>= 1)")
    if samples > 1:
        vote["samples"] = samples
        if "temperature" in options:
            vote["temperature"] = options.pop("temperature")
        if "seed" in options:
            vote["seed"] = options.pop("seed")
    for key in ("min_support", "min_similarity"):
        if key in options:
            vote[key] = options.pop(key)
    return vote


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
    if isinstance(examples, str):
        parse_nearest(examples)  # "nearest:K": each document's K nearest other gold ones
    elif examples is not None and (
        isinstance(examples, bool) or not isinstance(examples, int) or examples < 0
    ):
        raise UsageError(
            f'--system {name}: examples is a count of gold documents to show, or "nearest:K"'
        )
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
        'gold documents as examples, scored by no system) or near=\'{"examples": '
        "\"nearest:3\"}' (each document's 3 most similar other gold documents); an ensemble with "
        'vote=\'{"samples": 5, "temperature": 0.7}\' (each model\'s samples voted) or '
        '\'{"members": [{}, {"prompt": "fields"}]}\' (members with options of their '
        "own) or '{\"ensemble\": true}' (every --model voted as one system); repeatable",
    )
    ev.add_argument("--repeat", type=int, default=1, help="runs per system (mean and spread)")
    ev.add_argument("--tolerance", type=float, default=1e-6, help="relative, for numbers")
    ev.add_argument("--max-retries", type=int, default=2)
    ev.add_argument("--json", help="write the full report (every document) here")
    ev.add_argument("--html", help="write a self-contained HTML page here")
    ev.add_argument("--baseline", help="a saved --json report to compare against")
    ev.add_argument(
        "--fit-calibration",
        metavar="PATH",
        help="fit each system's confidence calibration on these gold values and save it "
        "(use with `extract run --calibration PATH`)",
    )
    ev.add_argument("--quiet", action="store_true", help="no progress")
    ev.set_defaults(func=cmd_eval)
