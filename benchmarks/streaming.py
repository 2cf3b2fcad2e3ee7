"""How soon a streamed record is useful: the first complete field and the first list
item, against the whole record, on the corpus.

For each document: seconds to the first snapshot with a complete leaf value, to the
first list item given (list targets: complete and validated, as ``iter_items`` gives
it), and to the final ``Result``; medians per task, and the share of the whole that the
first field and item take.

``--server`` runs both systems on loopback llama-cpp-python servers (the embedded
model, forced tools, one server each, documents interleaved, the same retry budget):
ours (``Extractor.stream``) and instructor's ``create_partial`` (a model) /
``create_iterable`` (a list's items). instructor's
partial fields may be strings still being written: its "first field" is the first
partial with any field set, complete or not. Both read the same messages (ours: the
system prompt with the schema, then the text).

    python -m benchmarks.streaming --tasks contact,team,news --limit 12
    python -m benchmarks.streaming --server --tasks contact,team --limit 12
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import typing
from typing import Any

import extract
from extract import Snapshot
from extract.core._options import compile_target
from extract.core._prompt import build_messages
from extract.features.streaming import ItemGate, item_type
from tests.corpus import TASKS, load

Timing = dict[str, float | None]
# instructor's retries after the first attempt: ours by default (extract's max_retries).
# strict=False: with its default strict=True, instructor's partial streams refuse every
# ISO date ("Input should be a valid date" for "2024-05-16").
RETRIES = 2


def timings(extractor: extract.Extractor, target: Any, text: str) -> Timing:
    """Ours: the first snapshot with a complete leaf, and (list targets) the first item
    ``iter_items`` gives: complete and validated."""
    takes_back = extractor.backend.capabilities.takes_back
    gate = ItemGate(item_type(target), takes_back) if typing.get_origin(target) is list else None
    started = time.perf_counter()
    marks: dict[str, float] = {}
    failed, attempts = 0, None
    try:
        for event in extractor.stream(target, text, strings=False):
            now = time.perf_counter() - started
            if isinstance(event, extract.Result):
                attempts = len(event.attempts)
            if gate is not None and gate.take(event):
                marks.setdefault("item", now)
            complete = isinstance(event, Snapshot) and any(
                p and not _container(event.value, p) for p in event.done
            )
            if complete:
                marks.setdefault("field", now)
    except extract.ExtractError:
        failed = 1  # no valid record: the time until it gave up still counts
    timing = _timing(marks, started, failed)
    timing["attempts"] = attempts
    return timing


def same_messages(target: Any, text: str) -> list[dict[str, str]]:
    """The messages ``Extractor`` sends (system prompt with the schema, then the text),
    so that both systems read the same prompt."""
    schema = compile_target(target).json_schema
    built = build_messages(schema, text, instructions=None, examples=(), target=target)
    return [{"role": m.role, "content": m.content} for m in built]


def instructor_timings(client: Any, target: Any, text: str) -> Timing:
    """instructor on the same server: create_iterable for a list, else create_partial."""
    messages = same_messages(target, text)
    started = time.perf_counter()
    marks: dict[str, float] = {}
    failed = 0
    try:
        if typing.get_origin(target) is list:
            (item,) = typing.get_args(target)
            for _ in client.chat.completions.create_iterable(
                model="smollm2",
                response_model=item,
                messages=messages,
                max_retries=RETRIES,
                strict=False,
            ):
                marks.setdefault("item", time.perf_counter() - started)
                marks.setdefault("field", marks["item"])
        else:
            for partial in client.chat.completions.create_partial(
                model="smollm2",
                response_model=target,
                messages=messages,
                max_retries=RETRIES,
                strict=False,
            ):
                if any(v is not None for v in partial.model_dump().values()):
                    marks.setdefault("field", time.perf_counter() - started)
    except Exception:  # instructor raises its own validation and retry errors
        failed = 1
    return _timing(marks, started, failed)


def _timing(marks: dict[str, float], started: float, failed: int) -> Timing:
    return {
        "first_field": marks.get("field"),
        "first_item": marks.get("item"),
        "whole": time.perf_counter() - started,
        "failed": failed,
    }


def _container(value: Any, pointer: str) -> bool:
    for key in pointer.split("/")[1:]:
        value = value[int(key)] if isinstance(value, list) else value[key]
    return isinstance(value, dict | list)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="contact,team,news")
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument(
        "--server", action="store_true", help="ours vs instructor on a loopback server"
    )
    parser.add_argument("--json", help="write the per-document timings here")
    args = parser.parse_args()
    if args.server:
        return _on_server(args)
    local = extract.Extractor()
    systems = {"ours (embedded)": lambda target, text: timings(local, target, text)}
    return _report(args, systems)


def _on_server(args: argparse.Namespace) -> int:
    import instructor
    import openai

    from extract.core._model import default_model_path
    from tests.llama_server import running_llama_server

    model = str(default_model_path())
    # Each system on its own server: its own model instance and prompt cache.
    with running_llama_server(model) as mine, running_llama_server(model) as theirs_url:
        ours = extract.Extractor(openai.OpenAI(base_url=mine, api_key="none"), model="smollm2",
                                 profile="llama-cpp-python", strategy="tools")  # fmt: skip
        theirs = instructor.from_openai(openai.OpenAI(base_url=theirs_url, api_key="none"),
                                        mode=instructor.Mode.TOOLS)  # fmt: skip
        systems = {
            "ours (server)": lambda target, text: timings(ours, target, text),
            "instructor (server)": lambda target, text: instructor_timings(theirs, target, text),
        }
        return _report(args, systems)


def _report(args: argparse.Namespace, systems: dict[str, Any]) -> int:
    rows: dict[str, list[Timing]] = {}
    print("| task | system | documents | failed | first field (s) | first item (s) | whole (s) |"
          " field / whole | item / whole |\n|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    for task in args.tasks.split(","):
        target, _ = TASKS[task]
        docs = load(task)[: args.limit]
        measured: dict[str, list[Timing]] = {name: [] for name in systems}
        for doc in docs:  # interleaved: the machine's noise falls on both alike
            for name, measure in systems.items():
                measured[name].append(measure(target, doc.text))
        for name, found in measured.items():
            rows[f"{task}/{name}"] = found
            print(_row(task, name, found))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return 0


def _row(task: str, name: str, rows: list[Timing]) -> str:
    def median(key: str) -> str:
        values = [r[key] for r in rows if r[key] is not None]
        return f"{statistics.median(values):.2f}" if values else "-"  # type: ignore[type-var]

    def share(key: str) -> str:
        values = [r[key] / r["whole"] for r in rows if r[key] is not None and r["whole"]]  # type: ignore[operator]
        return f"{statistics.median(values):.2f}" if values else "-"

    failed = sum(int(r.get("failed") or 0) for r in rows)
    cells = [task, name, str(len(rows)), str(failed), median("first_field"),
             median("first_item"), median("whole"),
             share("first_field"), share("first_item")]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


if __name__ == "__main__":
    raise SystemExit(main())
