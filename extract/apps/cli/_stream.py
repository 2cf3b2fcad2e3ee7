"""``extract run --stream``: one document's snapshots as JSON lines, then its result."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from extract.api._extractor import Extractor
from extract.apps._targets import load_target
from extract.core._errors import ExtractError, UsageError
from extract.features.batch import Document, Outcome, json_line, outcome_line, read_inputs
from extract.features.streaming import Snapshot


def stream_one(args: argparse.Namespace, specs: list[str], options: dict[str, Any]) -> int:
    if isinstance(args.model, list) or options.get("samples", 1) != 1 or args.engine == "ray":
        raise UsageError("extract run --stream: one model, no samples, the local engine")
    if args.backend:
        raise UsageError("extract run --stream: give --model, not --backend")
    inputs = list(read_inputs(specs))
    if len(inputs) != 1:
        raise UsageError(f"extract run --stream: give one document, not {len(inputs)}")
    [document] = inputs
    if not isinstance(document, Document):
        raise UsageError(f"extract run --stream: {document.id}: {document.error}")
    target = load_target(args.schema)
    out = open(args.output, "a", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    options = {k: v for k, v in options.items() if k != "samples"}
    try:
        for event in Extractor(args.model).stream(target, document.text, **options):
            if isinstance(event, Snapshot):
                line: dict[str, Any] = {
                    "id": document.id,
                    "snapshot": event.value,
                    "done": list(event.done),
                    "attempt": event.attempt,
                    **({"growing": dict([event.growing])} if event.growing else {}),
                    **({"restarted": True} if event.restarted else {}),
                }
            else:
                line = outcome_line(Outcome(document.id, result=event), target)
            out.write(json_line(line) + "\n")
            out.flush()
    except ExtractError as exc:
        line = outcome_line(Outcome.failed(document.id, type(exc).__name__, str(exc)), target)
        out.write(json_line(line) + "\n")
        return 1
    finally:
        if out is not sys.stdout:
            out.close()
    return 0
