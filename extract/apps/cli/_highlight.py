"""``extract highlight``: the grounded values of an ``extract run`` output, shown in
their documents on one self-contained HTML page."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from extract.apps.highlight import highlight_documents
from extract.core._errors import UsageError
from extract.features.batch import Document, json_lines, read_inputs

from ._paths import check_writable


def cmd_highlight(args: argparse.Namespace) -> int:
    check_writable(args.output, "page")
    texts: dict[str, str] = {}
    for item in read_inputs(args.input or []):
        if isinstance(item, Document):
            texts[item.id] = item.text
    documents: list[tuple[str, str, dict[str, tuple[int, int]]]] = []
    missing = 0
    try:
        with open(args.data, "rb") as f:
            for number, line, error in json_lines(f):
                if error is not None:
                    raise UsageError(f"{args.data}:{number}: {error}")
                if not isinstance(line, dict) or "id" not in line:
                    raise UsageError(f"{args.data}:{number}: not an `extract run` output line")
                ident = str(line["id"])
                text = line.get("text", texts.get(ident))
                if "error" in line:
                    continue
                if not isinstance(text, str):
                    missing += 1
                    continue
                spans = {p: (int(s), int(e)) for p, (s, e) in (line.get("spans") or {}).items()}
                documents.append((ident, text, spans))
    except OSError as exc:
        raise UsageError(f"extract highlight: cannot read {args.data}: {exc}") from exc
    if missing:
        print(f"{missing} records have no text: give their documents with --input", file=sys.stderr)
    if not documents:
        raise UsageError("extract highlight: no record with a text to show")
    try:
        page = highlight_documents(documents, title=args.data)
    except ValueError as exc:  # offsets that do not fit the text given
        raise UsageError(f"extract highlight: {exc} (is --input the run's input?)") from exc
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(page)
    print(f"{len(documents)} documents: {args.output}", file=sys.stderr)
    return 0


def add_highlight_parser(sub: Any) -> None:
    hl = sub.add_parser("highlight", help="show the grounded values of `extract run` output")
    hl.add_argument("--data", required=True, help="the JSON Lines that `extract run` wrote")
    hl.add_argument("--input", action="append", help="the run's inputs (for their texts)")
    hl.add_argument("--output", required=True, help="the HTML page to write")
    hl.set_defaults(func=cmd_highlight)
