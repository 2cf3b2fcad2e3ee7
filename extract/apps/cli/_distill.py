"""``extract distill``: train a small task-specific model from reviewed records."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from extract.apps._targets import load_target
from extract.core._errors import UsageError


def cmd_distill(args: argparse.Namespace) -> int:
    try:
        from extract.apps.distill import distill
    except ImportError as exc:
        raise UsageError(
            f"extract distill needs spaCy: pip install 'structured-extract[distill]' ({exc})"
        ) from exc
    target = load_target(args.schema)
    done = distill(
        target,
        args.data,
        args.out,
        lang=args.lang,
        held_out=args.held_out,
        seed=args.seed,
        max_epochs=args.epochs,
        patience=args.patience,
        warm_from=args.warm_from,
    )
    print(done.summary(), file=sys.stderr)
    print(f"serve it: extract.Extractor('spacy:{args.out}')", file=sys.stderr)
    return 0


def add_distill_parser(sub: Any) -> None:
    ds = sub.add_parser(
        "distill",
        help="train a small spaCy model from reviewed records",
        description="Train a spaCy pipeline (from a blank language) that extracts the same "
        "records: entity spans for grounded fields, text categories for label fields.",
    )
    ds.add_argument("--schema", required=True, help="the target: package.module:Model")
    ds.add_argument("--data", required=True, help='reviewed JSONL: {"id","text","gold"} lines')
    ds.add_argument("--out", required=True, help="the folder for the model, its config and data")
    ds.add_argument("--lang", default="en", help="spaCy language of the blank pipeline (en)")
    ds.add_argument("--held-out", type=float, default=0.2, help="share held out (0.2)")
    ds.add_argument("--epochs", type=int, default=30, help="at most this many epochs (30)")
    ds.add_argument(
        "--patience", type=int, default=400, help="stop after this many steps without gain (400)"
    )
    ds.add_argument("--seed", type=int, default=0)
    ds.add_argument(
        "--warm-from",
        metavar="MODEL",
        help="start from an earlier student of the same schema (when it knows every label)",
    )
    ds.set_defaults(func=cmd_distill)
