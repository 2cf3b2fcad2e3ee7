"""The ``extract`` command: run, eval, check, ingest, review, distill and demo."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from extract.apps._targets import load_target
from extract.core._errors import ExtractError, UsageError

from ._distill import add_distill_parser
from ._eval import add_eval_parser
from ._highlight import add_highlight_parser
from ._review import add_review_parser
from ._run import add_run_parser


def cmd_check(args: argparse.Namespace) -> int:
    from extract.core._options import compile_target

    spec = args.target or args.schema
    if not spec:
        raise UsageError("extract check: give a schema file or package.module:Model")
    compiled = compile_target(load_target(spec))
    print(compiled.report.render())
    report = compiled.report
    if not report.enforced and not report.validated_after:
        print("note: this schema constrains nothing; every JSON value is valid")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from pydantic import BaseModel

    model = load_target(args.schema)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise UsageError(
            "extract ingest: --schema must name a Pydantic model (package.module:Model)"
        )
    try:
        from extract.apps.ingest import MAX_LINE_BYTES, ingest, retry_quarantine
        from extract.apps.ingest._sources import check_input
    except ImportError as exc:  # the db extra is not installed: say which
        raise UsageError(f"extract ingest: {exc}") from exc
    if not args.dry_run and not args.into:
        raise UsageError("extract ingest: --into URL is required (or --dry-run)")
    options: dict[str, Any] = {"table": args.table, "key": args.key or None}
    if args.retry_quarantine:
        report = retry_quarantine(model, args.into, **options)
        print(f"retried the quarantine: {report.summary()}", file=sys.stderr)
        return 0
    if not args.files:
        raise UsageError("extract ingest: give one or more input files")
    for path in args.files:  # all of them before any is loaded
        check_input(path)
    for path in args.files:
        progress = _Progress(path)
        try:
            report = ingest(
                model,
                path,
                args.into,
                batch_size=args.batch_size,
                dry_run=args.dry_run,
                progress=progress,
                max_line_bytes=args.max_line_bytes or MAX_LINE_BYTES,
                min_confidence=args.min_confidence,
                **options,
            )
        finally:  # an error then starts on a line of its own
            progress.done()
        print(f"{path}: {report.summary()}", file=sys.stderr)
    return 0


class _Progress:
    """One status line on stderr, redrawn at most five times a second."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.shown = 0.0

    def __call__(self, report: Any) -> None:
        now = time.monotonic()
        if now - self.shown < 0.2:
            return
        self.shown = now
        rate = report.read / report.seconds if report.seconds else 0.0
        print(
            f"\r{self.label}: {report.read} records, {rate:.0f}/s, "
            f"{report.quarantined} quarantined",
            end="",
            file=sys.stderr,
            flush=True,
        )

    def done(self) -> None:
        if self.shown:
            print(file=sys.stderr)


def cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(args.model)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="extract", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_run_parser(sub)
    add_eval_parser(sub)
    add_highlight_parser(sub)
    add_review_parser(sub)
    add_distill_parser(sub)
    check = sub.add_parser("check", help="print the constraint report of a schema")
    check.add_argument("target", nargs="?", help="schema.json or package.module:Model")
    check.add_argument("--schema", help="the same, as an option")
    check.set_defaults(func=cmd_check)
    ing = sub.add_parser("ingest", help="validate records and load them into a database")
    ing.add_argument("--schema", required=True, help="package.module:Model")
    ing.add_argument("--into", help="database URL, e.g. sqlite:///app.db")
    ing.add_argument("--table", help="table name (default: the model's name, lower case)")
    ing.add_argument("--key", action="append", help="key field (repeat for a composite key)")
    ing.add_argument("--batch-size", type=int, default=1000)
    ing.add_argument(
        "--max-line-bytes",
        type=int,
        help="a longer JSON line is quarantined unread (default: 16 MiB)",
    )
    ing.add_argument(
        "--min-confidence",
        type=float,
        help="a record holding a value less sure than this goes to <table>__review, "
        "not the table (inputs: `extract run` output with confidences)",
    )
    ing.add_argument("--dry-run", action="store_true", help="validate only, load nothing")
    ing.add_argument(
        "--retry-quarantine", action="store_true", help="re-validate quarantined records"
    )
    ing.add_argument("files", nargs="*", help=".jsonl, .json or .csv files")
    ing.set_defaults(func=cmd_ingest)
    demo = sub.add_parser("demo", help="extract records from the bundled sample texts")
    demo.add_argument("--model", help="GGUF path (default: the embedded model)")
    demo.set_defaults(func=cmd_demo)
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except UsageError as exc:  # the command was given wrong: argparse's code for that
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ExtractError as exc:  # the work failed (a model that does not load...)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return code
