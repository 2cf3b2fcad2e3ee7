"""Ours vs llama-cpp-python's own JSON-schema mode, side by side on the embedded model.

Same Llama object, same prompt messages, same thread count, greedy; the two systems
alternate record by record (A B A B ...) so machine drift hits both. Reports ratios.

    python benchmarks/local_quick.py [--rounds 2] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Annotated, Any, Literal

import llama_cpp
from pydantic import BaseModel, Field, ValidationError

import extract
from extract._model import default_model_path
from extract._prompt import build_messages
from schemas import compile_schema


class Employee(BaseModel):
    name: Annotated[str, Field(max_length=40)]
    age: Annotated[int, Field(ge=0, le=120)]
    city: Annotated[str, Field(max_length=30)]
    role: Literal["engineer", "manager", "sales", "other"]
    remote: bool
    skills: Annotated[list[Annotated[str, Field(max_length=20)]], Field(max_length=3)]


DOCS = [
    "Maria Lopez, 34, is a backend engineer in Madrid who works remote; she knows Go and SQL.",
    "Tom Becker (51) manages the Hamburg sales office on site. Skills: negotiation.",
    "Aiko Tanaka is a 28-year-old engineer based in Osaka, in the office daily, fluent in Rust.",
    "Our new sales lead, Pierre Martin, 45, lives in Lyon and works from home; he speaks Spanish.",
    "Grace Kim, 39, engineering manager, Seoul, hybrid but mostly remote. Python, Kubernetes.",
    "Leo Rossi, aged 23, joined as an engineer in Milan. He comes to the office. Knows Java.",
    "Fatima Zahra, 31, handles sales in Casablanca from her home office; skills: Excel, French.",
    "Sven Olsen is 60, lives in Oslo, and is the operations manager on site. Skills: logistics.",
    "Priya Nair, 27, engineer in Bangalore, remote, works with React and TypeScript.",
    "Diego Fernandez, 42, manager in Buenos Aires, works from the office. Skills: budgeting.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()

    path = default_model_path()
    ours = extract.Extractor(
        llama_cpp.Llama(path, n_ctx=4096, n_threads=args.threads, verbose=False)
    )
    peer = llama_cpp.Llama(path, n_ctx=4096, n_threads=args.threads, verbose=False)
    schema = compile_schema(Employee).json_schema

    rows: dict[str, list[dict[str, Any]]] = {"ours": [], "llama-cpp-python json_schema": []}
    for _ in range(args.rounds):
        for doc in DOCS:
            started = time.perf_counter()
            try:
                result = ours.run(Employee, doc, max_retries=0, max_tokens=256)
                ok, tokens = True, result.usage.completion_tokens
            except extract.ExtractionError as exc:
                ok, tokens = False, exc.usage.completion_tokens
            rows["ours"].append({"s": time.perf_counter() - started, "tokens": tokens, "ok": ok})

            messages = build_messages(schema, doc, instructions=None, examples=(), target=Employee)
            started = time.perf_counter()
            response: Any = peer.create_chat_completion(
                messages=[{"role": m.role, "content": m.content} for m in messages],  # type: ignore[misc]
                response_format={"type": "json_object", "schema": schema},
                temperature=0.0,
                max_tokens=256,
            )
            seconds = time.perf_counter() - started
            text = response["choices"][0]["message"]["content"] or ""
            try:
                Employee.model_validate_json(text)
                ok = True
            except ValidationError:
                ok = False
            rows["llama-cpp-python json_schema"].append(
                {"s": seconds, "tokens": response["usage"]["completion_tokens"], "ok": ok}
            )

    summary = {}
    for name, data in rows.items():
        times = sorted(r["s"] for r in data)
        summary[name] = {
            "records": len(data),
            "records_per_s": len(data) / sum(times),
            "ms_p50": 1000 * statistics.median(times),
            "ms_p95": 1000 * times[int(0.95 * (len(times) - 1))],
            "tokens_per_record": statistics.mean(r["tokens"] for r in data),
            "valid_rate": sum(r["ok"] for r in data) / len(data),
        }
    base = summary["ours"]
    print("| system | records/s | ms/record p50 | p95 | output tokens/record | valid objects |")
    print("|---|---|---|---|---|---|")
    for name, s in summary.items():
        print(
            f"| {name} | {s['records_per_s']:.2f} | {s['ms_p50']:.0f} | {s['ms_p95']:.0f} "
            f"| {s['tokens_per_record']:.1f} | {100 * s['valid_rate']:.0f}% |"
        )
    for name, s in summary.items():
        if name != "ours":
            ratio = base["records_per_s"] / s["records_per_s"]
            print(f"\nours / {name}: {ratio:.2f}x records/s")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
