"""One long document through the embedded model: the news corpus joined into a text of
at least ``--chars`` characters (50,000 by default), read as a list of grounded
entities (the first news documents shown as examples and left out of it). Reported:
chunks, time, entities, the share of them on a gold mention (precision), and per
fifth of the document the share of gold entity mentions that an extracted span covers
(recall by position), and that every span's text is its value.

    python -m benchmarks.long_document --chars 50000 --json benchmarks/results/long.json

``--compare`` runs, on each text of ``--chars`` (several may be given), the old
behaviour (``chunking="overflow"``: chunks only when the context refuses the text),
the library's default and each ``--sizes`` chunk size, side by side in one run, and
says for each whether every fifth's recall is within 20% of the best fifth's:

    python -m benchmarks.long_document --compare --chars 14000 50000 \\
        --json benchmarks/results/long.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import extract
from extract.core._long import CHUNK_SIZE
from tests.corpus import GroundedNews, load

# Every fifth's recall at least this share of the best fifth's.
TARGET = 0.8


@dataclass(frozen=True)
class LongText:
    text: str
    gold: list[tuple[int, int, str]]  # every gold mention: start, end, text


def long_text(chars: int, examples: int) -> LongText:
    """The news texts after the examples, repeated until ``chars`` characters."""
    docs = load("news")[examples:]
    pieces: list[str] = []
    gold: list[tuple[int, int, str]] = []
    length = 0
    while length < chars:
        for doc in docs:
            base = length
            for entity in doc.gold:
                at = doc.text.find(entity.text)
                while at >= 0:
                    gold.append((base + at, base + at + len(entity.text), entity.text))
                    at = doc.text.find(entity.text, at + 1)
            pieces.append(doc.text)
            length += len(doc.text) + 2
            if length >= chars:
                break
    return LongText("\n\n".join(pieces), gold)


def measured(
    ex: extract.Extractor, doc: LongText, shots: list[Any], parts: int, options: dict[str, Any]
) -> dict[str, Any]:
    """One read of ``doc`` with ``options``: the old summary's fields, recall by part
    and overall, and whether the target is met."""
    text = doc.text
    started = time.perf_counter()
    result = ex.run(GroundedNews, text, max_retries=1, examples=shots, **options)
    seconds = time.perf_counter() - started
    spans = [(s, e) for p, (s, e) in result.spans.items() if p.endswith("/text")]
    exact = all(text[s:e] == item.text for item, (s, e) in zip(result.value, spans, strict=True))
    fifths = []
    for k in range(parts):
        lo, hi = k * len(text) // parts, (k + 1) * len(text) // parts
        mentions = [g for g in doc.gold if lo <= g[0] < hi]
        found = [g for g in mentions if any(s < g[1] and g[0] < e for s, e in spans)]
        inside = [s for s, _ in spans if lo <= s < hi]
        fifths.append({"from": lo, "to": hi, "gold_mentions": len(mentions),
                       "covered": len(found), "entities": len(inside),
                       "recall": round(len(found) / max(1, len(mentions)), 3)})  # fmt: skip
    on_gold = [sp for sp in spans if any(sp[0] < g[1] and g[0] < sp[1] for g in doc.gold)]
    recalls = [p["recall"] for p in fifths]
    worst_to_best = min(recalls) / max(recalls) if max(recalls) else 0.0
    return {
        "characters": len(text),
        "chunks": int(result.timings.get("chunks", 1)),
        "seconds": round(seconds, 1),
        "entities": len(result.value),
        "spans_are_values": exact,
        "duplicates_at_one_place": len(spans) - len(set(spans)),
        "recall": round(sum(p["covered"] for p in fifths) / max(1, len(doc.gold)), 3),
        # The share of names written that cover a gold mention.
        "precision": round(len(on_gold) / max(1, len(spans)), 3),
        "worst_to_best": round(worst_to_best, 3),
        "target_met": worst_to_best >= TARGET,
        "parts": fifths,
    }


def configurations(sizes: list[int], max_chunks: int) -> list[tuple[str, dict[str, Any]]]:
    """The old behaviour, the default, then every other size (the default's size is
    the default's row)."""
    runs: list[tuple[str, dict[str, Any]]] = [
        ('chunking="overflow" (before)', {"chunking": "overflow"}),
        (f"default (after: {CHUNK_SIZE} characters)", {}),
    ]
    for size in sizes:
        if size != CHUNK_SIZE:
            runs.append((f"chunk_size={size}", {"chunk_size": size, "max_chunks": max_chunks}))
    return runs


def table(texts: list[dict[str, Any]]) -> str:
    """The comparison as a Markdown table."""
    head = ("| text | configuration | chunks | entities | precision | recall "
            "| recall by fifth | worst/best | target | s |")  # fmt: skip
    lines = [head, "|" + "---|" * 10]
    for block in texts:
        for run in block["runs"]:
            fifths = " / ".join(f"{p['recall']:.3f}" for p in run["parts"])
            lines.append(
                f"| {block['characters']:,} | {run['configuration']} | {run['chunks']} "
                f"| {run['entities']} | {run['precision']:.3f} | {run['recall']:.3f} | {fifths} "
                f"| {run['worst_to_best']:.2f} | {'met' if run['target_met'] else 'not met'} "
                f"| {run['seconds']:.0f} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chars", type=int, nargs="+", default=[50_000])
    parser.add_argument("--parts", type=int, default=5, help="report recall for this many parts")
    parser.add_argument("--examples", type=int, default=2, help="news documents shown as "
                        "examples (left out of the long document)")  # fmt: skip
    parser.add_argument("--chunk-size", type=int, help="characters per chunk (the "
                        "library's default when not given)")  # fmt: skip
    parser.add_argument("--chunking", choices=("size", "overflow"), default="size")
    parser.add_argument("--compare", action="store_true", help="the old behaviour, the "
                        "default and --sizes side by side")  # fmt: skip
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[300, 400, 500, 750, 1000, 1500, 2000, 3000, 4000]
    )
    parser.add_argument("--max-chunks", type=int, default=1000, help="for the sizes "
                        "given, so that the smallest reads the whole text in chunks of that "
                        "size (the library's default stays as it is)")  # fmt: skip
    parser.add_argument("--json", dest="json_out", type=Path)
    args = parser.parse_args()

    shots = [(doc.text, doc.gold) for doc in load("news")[: args.examples]]
    ex = extract.Extractor()
    ex.run(GroundedNews, shots[0][0])  # the model loaded before any clock starts
    if not args.compare:
        options: dict[str, Any] = {"chunking": args.chunking}
        if args.chunk_size is not None:
            options |= {"chunk_size": args.chunk_size, "max_chunks": args.max_chunks}
        doc = long_text(args.chars[0], args.examples)
        summary = measured(ex, doc, shots, args.parts, options)
        summary = {"chunk_size": args.chunk_size, "chunking": args.chunking,
                   "examples": args.examples, **summary}  # fmt: skip
    else:
        texts = []
        for chars in args.chars:
            doc = long_text(chars, args.examples)
            runs = []
            for label, options in configurations(args.sizes, args.max_chunks):
                run = {"configuration": label, "options": options}
                run |= measured(ex, doc, shots, args.parts, options)
                print(json.dumps(run), file=sys.stderr, flush=True)
                runs.append(run)
            texts.append({"characters": len(doc.text), "gold_mentions": len(doc.gold),
                          "runs": runs})  # fmt: skip
        command = " ".join(["python -m benchmarks.long_document", *sys.argv[1:]])
        summary = {"command": command, "examples": args.examples, "default_chunk_size":
                   CHUNK_SIZE, "target": f"every fifth's recall >= {TARGET} x the best "
                   "fifth's", "texts": texts}  # fmt: skip
        print(table(texts))
    print(json.dumps(summary, indent=1))
    if args.json_out:
        args.json_out.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
