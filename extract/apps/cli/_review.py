"""``extract review``: check and correct extracted records in a local web page."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from extract.apps._targets import load_target
from extract.apps.review import serve


def cmd_review(args: argparse.Namespace) -> int:
    target = load_target(args.schema)
    loop = None
    if args.learn:
        from extract.api._extractor import Extractor
        from extract.apps.loop import Loop

        loop = Loop(target, Extractor(args.model) if args.model else None, args.learn)

    def ready(address: str) -> None:
        learning = f"; learning in {args.learn}" if args.learn else ""
        print(f"Reviewing {args.data} at {address} (answers in {args.out}{learning}; "
              "Ctrl+C stops)")  # fmt: skip
        sys.stdout.flush()

    serve(
        target,
        args.data,
        args.out,
        inputs=args.input or [],
        host=args.host,
        port=args.port,
        database=args.database,
        threshold=args.confidence,
        order=args.order,
        ready=ready,
        table=args.table or _default_table(target),
        loop=loop,
    )
    return 0


def _default_table(target: Any) -> str | None:
    """What ``extract ingest`` names a model's table: its name in lower case."""
    name = getattr(target, "__name__", None)
    return name.lower() if isinstance(name, str) else None


def add_review_parser(sub: Any) -> None:
    rv = sub.add_parser(
        "review",
        help="check and correct extracted records in a local web page",
        description="Serve a review page on this machine: one document at a time, its "
        "record as a form pre-filled with the prediction; answers become gold data.",
    )
    rv.add_argument("--schema", required=True, help="the target: package.module:Model")
    rv.add_argument(
        "--data",
        required=True,
        help='`extract run` output, {"id","text","value"} JSONL, or a database URL '
        "holding the review table of `extract ingest --min-confidence`",
    )
    rv.add_argument(
        "--table", help="with a database URL: the ingested table (default: the model's name)"
    )
    rv.add_argument("--out", required=True, help="the reviewed JSONL to write")
    rv.add_argument("--input", action="append", help="the run's inputs (for their texts)")
    rv.add_argument("--port", type=int, default=8000, help="0 takes a free port (default 8000)")
    rv.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: this machine only)"
    )
    rv.add_argument("--database", help="where answers are kept (default: OUT.sqlite)")
    rv.add_argument(
        "--learn",
        metavar="DIR",
        help="suggest with an extract.Loop kept in DIR (teacher, nearest examples, a student "
        "retrained as you answer); --data then needs only id and text",
    )
    rv.add_argument(
        "--model",
        help="with --learn: the teacher (a GGUF path or openai:MODEL; default: the embedded model)",
    )
    rv.add_argument(
        "--order",
        choices=("input", "uncertain"),
        default="input",
        help="the order documents are offered in: as given, or the least sure first",
    )
    rv.add_argument(
        "--confidence",
        type=float,
        default=0.8,
        help="mark fields whose confidence is below this (default 0.8)",
    )
    rv.set_defaults(func=cmd_review)
