"""One long document through the embedded model: the news corpus joined into a text of
at least ``--chars`` characters (50,000 by default), read chunk by chunk as a list of
grounded entities (the first news documents shown as examples and left out of it).
Reported: chunks, time, entities, and per part of the document the share of gold entity
mentions that an extracted span covers (recall by position), and that every span's
text is its value.

    python -m benchmarks.long_document --chars 50000 --json benchmarks/results/long.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import extract
from tests.corpus import GroundedNews, load


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chars", type=int, default=50_000)
    parser.add_argument("--parts", type=int, default=5, help="report recall for this many parts")
    parser.add_argument("--examples", type=int, default=2, help="news documents shown as "
                        "examples (left out of the long document)")  # fmt: skip
    parser.add_argument("--chunk-size", type=int, default=3000, help="characters per chunk")
    parser.add_argument("--json", dest="json_out", type=Path)
    args = parser.parse_args()

    news = load("news")
    shots = [(doc.text, doc.gold) for doc in news[: args.examples]]
    docs = news[args.examples :]
    pieces: list[str] = []
    gold: list[tuple[int, int, str]] = []  # every gold mention: start, end, text
    length = 0
    while length < args.chars:
        for doc in docs:
            base = length
            for entity in doc.gold:
                at = doc.text.find(entity.text)
                while at >= 0:
                    gold.append((base + at, base + at + len(entity.text), entity.text))
                    at = doc.text.find(entity.text, at + 1)
            pieces.append(doc.text)
            length += len(doc.text) + 2
            if length >= args.chars:
                break
    text = "\n\n".join(pieces)

    started = time.perf_counter()
    result = extract.Extractor().run(
        GroundedNews, text, max_retries=1, examples=shots, chunk_size=args.chunk_size
    )
    seconds = time.perf_counter() - started
    spans = [(s, e) for p, (s, e) in result.spans.items() if p.endswith("/text")]
    exact = all(text[s:e] == item.text for item, (s, e) in zip(result.value, spans, strict=True))
    parts = []
    for k in range(args.parts):
        lo, hi = k * len(text) // args.parts, (k + 1) * len(text) // args.parts
        mentions = [g for g in gold if lo <= g[0] < hi]
        found = [g for g in mentions if any(s < g[1] and g[0] < e for s, e in spans)]
        inside = [s for s, _ in spans if lo <= s < hi]
        parts.append({"from": lo, "to": hi, "gold_mentions": len(mentions),
                      "covered": len(found), "entities": len(inside)})  # fmt: skip
    summary = {
        "characters": len(text),
        "chunks": int(result.timings.get("chunks", 1)),
        "chunk_size": args.chunk_size,
        "examples": args.examples,
        "seconds": round(seconds, 1),
        "entities": len(result.value),
        "spans_are_values": exact,
        "duplicates_at_one_place": len(spans) - len(set(spans)),
        "parts": parts,
    }
    print(json.dumps(summary, indent=1))
    if args.json_out:
        args.json_out.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
