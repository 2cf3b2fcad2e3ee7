"""Local extraction speed: ours vs outlines, llama-cpp-python's JSON mode, instructor and
raw decoding, side by side on the embedded GGUF model.

Every system gets its own ``llama_cpp.Llama`` (same file, ``n_ctx``, ``n_threads`` and
seed), the same chat messages (our system prompt, which states the schema, then the
document), greedy decoding and a 512-token budget. Runs are interleaved document by
document (ours, outlines, JSON mode, instructor, raw, ours, ...) so machine drift hits
all alike. Forward passes are counted on each ``Llama.eval`` call of the peers and each
``llama_decode`` of our backend's own context (it decodes there, several sequences at
once when asked; here one document at a time).

    python backends/llama_build.py install && pip install -e '.[benchmarks]'
    python -m benchmarks.local [--limit 8] [--tasks contact,invoice,team] [--json OUT]

Systems:

* ours: ``extract.Extractor(llama)``, ``max_retries=2``; and the same with fast-forward
  of grammar-forced tokens off, to show what it changes;
* outlines: ``outlines.from_llamacpp`` + ``outlines.Generator(model, Target)`` (needs
  numba: without it outlines decodes unconstrained, so the script refuses to run);
* llama-cpp JSON mode: ``create_chat_completion(response_format={"type": "json_object",
  "schema": ...})``, its GBNF grammar sampler;
* instructor: ``instructor.patch(create=llama.create_chat_completion_openai_v1,
  mode=Mode.JSON_SCHEMA)``, ``max_retries=2``, as instructor's docs show it;
* raw: ``create_chat_completion`` with no constraint: the per-token speed ceiling (its
  output is not expected to be valid).

Reported per system: records/s, ms/record p50/p95, output tokens and forward passes per
record, output tokens per wall-clock second, valid-object rate, retries, field F1
against the gold records, and grammar compile time (first and cached); then ours ÷ each
peer; and the per-token cost of our constrained decoding against plain greedy decoding.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

# The repository root instead of this folder: benchmarks/coverage.py would shadow the
# coverage package that numba (outlines) imports.
if str(Path(__file__).resolve().parent) in sys.path:  # run as a script
    sys.path.remove(str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import llama_cpp
from pydantic import TypeAdapter

import extract
from benchmarks._greedy import greedy
from extract.backends import Request
from extract.backends.llamacpp import LlamaCppBackend
from extract.core._model import default_model_path
from extract.core._prompt import build_messages
from extract.evaluation import Counts
from extract.schemas import clear_cache, compile_schema
from tests.corpus import TASKS, field_scores, load

RETRIES = 2
MAX_TOKENS = 512
SEED = 0


class Counting:
    """Counts a ``Llama``'s forward passes (``eval`` calls) and the tokens they take."""

    def __init__(self, llm: llama_cpp.Llama) -> None:
        self.passes = 0
        self.tokens = 0
        evaluate = llm.eval

        def counted(tokens: Any) -> None:
            self.passes += 1
            self.tokens += len(tokens)
            evaluate(tokens)

        llm.eval = counted  # type: ignore[method-assign]


def new_llama(threads: int) -> llama_cpp.Llama:
    return llama_cpp.Llama(
        str(default_model_path()), n_ctx=4096, n_threads=threads, seed=SEED, verbose=False
    )


def chat(target: Any, text: str, prompt: str = "schema") -> list[dict[str, str]]:
    """The messages every system gets: our system prompt (with the schema, or the field
    list), the text."""
    schema = compile_schema(target).json_schema
    messages = build_messages(
        schema, text, instructions=None, examples=(), target=target, prompt=prompt
    )
    return [{"role": m.role, "content": m.content} for m in messages]


@dataclass
class Outcome:
    value: Any  # the typed value, or None when the system gave no valid one
    output_tokens: int
    calls: int  # model calls made (1 = no retry)


Run = Callable[[Any, str], Outcome]


class PassCounting:
    """Our backend's forward passes (``llama_decode`` calls in its own context)."""

    def __init__(self, backend: LlamaCppBackend) -> None:
        self.backend = backend

    @property
    def passes(self) -> int:
        return self.backend.sequences.passes


OUR_BACKENDS: dict[int, LlamaCppBackend] = {}  # by id(llm): whose passes to count


def ours(llm: llama_cpp.Llama, fast_forward: bool = True) -> Run:
    backend = LlamaCppBackend(llm, fast_forward=fast_forward)
    OUR_BACKENDS[id(llm)] = backend
    extractor = extract.Extractor(backend)

    def run(target: Any, text: str) -> Outcome:
        try:
            result = extractor.run(target, text, max_retries=RETRIES, max_tokens=MAX_TOKENS)
        except extract.ExtractionError as failed:
            tokens = sum(a.usage.completion_tokens for a in failed.attempts)
            return Outcome(None, tokens, len(failed.attempts))
        return Outcome(result.value, result.usage.completion_tokens, len(result.attempts))

    return run


def _validated(target: Any, text: str) -> Any:
    try:
        return TypeAdapter(target).validate_json(text)
    except ValueError:
        return None


def _completion_tokens(response: Any) -> int:
    return int(response["usage"]["completion_tokens"])


def outlines_system(llm: llama_cpp.Llama) -> Run:
    import outlines
    from outlines.inputs import Chat

    model = outlines.from_llamacpp(llm)
    generators: dict[str, Any] = {}
    counter = _token_counter(llm)

    def run(target: Any, text: str, prompt: str = "schema") -> Outcome:
        key = repr(target)
        if key not in generators:
            generators[key] = outlines.Generator(model, target)
        before = counter()
        messages = Chat(chat(target, text, prompt))
        out = generators[key](messages, max_tokens=MAX_TOKENS, temperature=0.0)
        return Outcome(_validated(target, out), counter() - before, 1)

    return run


def json_mode(llm: llama_cpp.Llama, constrained: bool = True) -> Run:
    """llama-cpp-python's chat completion, with its JSON-schema grammar or without."""

    def run(target: Any, text: str, prompt: str = "schema") -> Outcome:
        extra: dict[str, Any] = {}
        if constrained:
            schema = TypeAdapter(target).json_schema()
            extra["response_format"] = {"type": "json_object", "schema": schema}
        response = llm.create_chat_completion(
            messages=chat(target, text, prompt),  # type: ignore[arg-type]
            temperature=0.0,
            max_tokens=MAX_TOKENS,
            seed=SEED,
            **extra,
        )
        content = response["choices"][0]["message"]["content"] or ""  # type: ignore[index]
        return Outcome(_validated(target, content), _completion_tokens(response), 1)

    return run


def instructor_system(llm: llama_cpp.Llama) -> Run:
    import instructor

    create = instructor.patch(
        create=llm.create_chat_completion_openai_v1, mode=instructor.Mode.JSON_SCHEMA
    )

    def run(target: Any, text: str) -> Outcome:
        responses: list[Any] = []
        hooks = instructor.core.hooks.Hooks()
        hooks.on("completion:response", responses.append)
        try:
            value = create(
                response_model=target,
                messages=chat(target, text),
                max_retries=RETRIES,
                temperature=0.0,
                max_tokens=MAX_TOKENS,
                hooks=hooks,
            )
        except Exception:  # instructor gave up: no valid value
            value = None
        tokens = sum(r.usage.completion_tokens for r in responses if r.usage)
        return Outcome(value, tokens, max(1, len(responses)))

    return run


def _token_counter(llm: llama_cpp.Llama) -> Callable[[], int]:
    """Tokens sampled by llama-cpp-python so far: it appends each to ``input_ids``."""
    sampled = [0]
    sample = llm.sample

    def counted(*args: Any, **kwargs: Any) -> Any:
        sampled[0] += 1
        return sample(*args, **kwargs)

    llm.sample = counted  # type: ignore[method-assign]
    return lambda: sampled[0]


SYSTEMS: dict[str, Callable[[llama_cpp.Llama], Run]] = {
    "ours": ours,
    "ours (no fast-forward)": partial(ours, fast_forward=False),
    "outlines": outlines_system,
    "llama-cpp JSON mode": json_mode,
    "instructor (JSON_SCHEMA)": instructor_system,
    "raw (unconstrained)": partial(json_mode, constrained=False),
}


@dataclass
class Stats:
    seconds: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    passes: list[int] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)
    fields: Counts = field(default_factory=Counts)  # the project's scorer, summed

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.seconds)
        total = sum(self.seconds)
        return {
            "records_per_s": len(self.seconds) / total,
            "p50_ms": 1000 * statistics.median(ordered),
            "p95_ms": 1000 * ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            "tokens_per_record": statistics.mean(self.tokens),
            "passes_per_record": statistics.mean(self.passes),
            "tokens_per_s": sum(self.tokens) / total,
            "valid_rate": sum(self.valid) / len(self.valid),
            "retries_per_record": statistics.mean(self.calls) - 1,
            "field_precision": self.fields.precision,
            "field_recall": self.fields.recall,
            "field_f1": self.fields.f1,
        }


def compile_times(targets: list[Any], llm: llama_cpp.Llama) -> dict[str, dict[str, float]]:
    """Schema -> grammar, first and cached, per system that compiles one (median ms)."""
    import outlines

    def timed(step: Callable[[], Any]) -> float:
        started = time.perf_counter()
        step()
        return 1000 * (time.perf_counter() - started)

    model = outlines.from_llamacpp(llm)
    rows: dict[str, list[tuple[float, float]]] = {"ours": [], "outlines": [], "gbnf": []}
    for target in targets:
        clear_cache()
        ours_step = partial(lambda t: compile_schema(t).grammar, target)
        first = timed(ours_step)
        rows["ours"].append((first, min(timed(ours_step) for _ in range(50))))
        outlines_step = partial(outlines.Generator, model, target)
        rows["outlines"].append((timed(outlines_step), timed(outlines_step)))
        schema = json.dumps(TypeAdapter(target).json_schema())
        # llama-cpp-python builds the grammar again on every request: no cache to hit.
        gbnf = timed(partial(llama_cpp.LlamaGrammar.from_json_schema, schema, verbose=False))
        rows["gbnf"].append((gbnf, gbnf))
    names = {"ours": "ours", "outlines": "outlines", "gbnf": "llama-cpp JSON mode"}
    return {
        names[key]: {
            "first_ms": statistics.median(f for f, _ in pairs),
            "cached_ms": statistics.median(c for _, c in pairs),
        }
        for key, pairs in rows.items()
    }


def decode_overhead(threads: int, docs: int = 4) -> dict[str, float]:
    """Per-token cost of our constrained decoding against plain greedy decoding (argmax
    of the logits, no mask) on one model and the same prompts, the same number of
    tokens each, one forward pass per token (fast-forward and the loop guard off, as
    they change which tokens are evaluated): what the mask and the sampling cost.
    Decode time only; the prompt is evaluated first."""
    llm = new_llama(threads)
    backend = LlamaCppBackend(llm, fast_forward=False, loop_guard=False)
    target = TASKS["invoice"][0]
    compiled = compile_schema(target)
    ours_tokens = raw_tokens = 0
    ours_s = raw_s = 0.0
    for doc in load("invoice")[:docs]:
        messages = build_messages(
            compiled.json_schema, doc.text, instructions=None, examples=(), target=target
        )
        completion = backend.complete(Request(messages, compiled, max_tokens=256))
        ours_tokens += completion.completion_tokens
        ours_s += completion.timings["decode_s"]
        # The same prompt in the same context, then argmax after argmax, no mask.
        raw_s += greedy(backend, backend.prompt_tokens(messages), completion.completion_tokens)[1]
        raw_tokens += completion.completion_tokens
    ours_rate, raw_rate = ours_tokens / ours_s, raw_tokens / raw_s
    return {"ours_tokens_per_s": ours_rate, "raw_tokens_per_s": raw_rate,
            "ratio": ours_rate / raw_rate}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=8, help="documents per task")
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--json", dest="json_out", type=Path)
    parser.add_argument(
        "--overhead-only", action="store_true", help="only the per-token decode overhead"
    )
    args = parser.parse_args()
    if args.overhead_only:
        overhead = decode_overhead(args.threads)
        print(overhead_table(overhead))
        if args.json_out:
            args.json_out.write_text(json.dumps(overhead, indent=2), encoding="utf-8")
        return 0
    names = args.systems.split(",")
    if unknown := sorted(set(names) - set(SYSTEMS)):
        parser.error(f"unknown systems {unknown}: choose from {', '.join(SYSTEMS)}")
    if "outlines" in names and importlib.util.find_spec("numba") is None:
        parser.error("outlines needs numba to constrain llama.cpp: pip install numba")
    logging.getLogger("instructor").setLevel(logging.CRITICAL)

    tasks = args.tasks.split(",")
    documents = [(task, doc) for task in tasks for doc in load(task)[: args.limit]]
    llamas = {name: new_llama(args.threads) for name in names}
    runs = {name: SYSTEMS[name](llamas[name]) for name in names}
    counters: dict[str, Counting | PassCounting] = {
        name: PassCounting(OUR_BACKENDS[id(llm)]) if id(llm) in OUR_BACKENDS else Counting(llm)
        for name, llm in llamas.items()
    }
    stats = {name: Stats() for name in names}

    for number, (task, doc) in enumerate(documents, 1):
        target = TASKS[task][0]
        for name, run in runs.items():  # interleaved
            before = counters[name].passes
            started = time.perf_counter()
            outcome = run(target, doc.text)
            row = stats[name]
            row.seconds.append(time.perf_counter() - started)
            row.passes.append(counters[name].passes - before)
            row.tokens.append(outcome.output_tokens)
            row.calls.append(outcome.calls)
            row.valid.append(outcome.value is not None)
            row.fields.add(field_scores(task, outcome.value, doc.gold))
        print(f"\r{number}/{len(documents)} documents", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    summary = {name: row.summary() for name, row in stats.items()}
    # Compile times compare ours with outlines: measured when outlines is in the run.
    compiled = (
        compile_times([TASKS[t][0] for t in tasks], new_llama(args.threads))
        if "outlines" in names
        else {}
    )
    overhead = decode_overhead(args.threads)
    print(table(summary, compiled, len(documents), args))
    print(overhead_table(overhead))
    if args.json_out:
        payload = {
            "documents": len(documents),
            "tasks": args.tasks,
            "threads": args.threads,
            "systems": summary,
            "compile": compiled,
            "decode_overhead": overhead,
        }
        args.json_out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


def overhead_table(overhead: dict[str, float]) -> str:
    return (
        "\n| decoding, per token | tokens/s |\n|---|---|\n"
        f"| ours (mask and sampling) | {overhead['ours_tokens_per_s']:.1f} |\n"
        f"| plain greedy, no mask | {overhead['raw_tokens_per_s']:.1f} |\n"
        f"| ours ÷ plain | {overhead['ratio']:.2f}x |"
    )


def table(
    summary: dict[str, dict[str, float]],
    compiled: dict[str, dict[str, float]],
    documents: int,
    args: argparse.Namespace,
) -> str:
    base = summary.get("ours")
    lines = [
        f"{documents} documents ({args.tasks}), {args.threads} threads, greedy, "
        f"max_tokens={MAX_TOKENS}, ours and instructor max_retries={RETRIES}",
        "",
        "| system | records/s | ms/record p50 | p95 | tokens/record | forward passes/record "
        "| tokens/s (wall) | valid | retries/record | field F1 | ours records/s ÷ this |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in summary.items():
        ratio = f"{base['records_per_s'] / s['records_per_s']:.2f}x" if base else "-"
        lines.append(
            f"| {name} | {s['records_per_s']:.2f} | {s['p50_ms']:.0f} | {s['p95_ms']:.0f} "
            f"| {s['tokens_per_record']:.1f} | {s['passes_per_record']:.1f} "
            f"| {s['tokens_per_s']:.1f} | {s['valid_rate']:.0%} "
            f"| {s['retries_per_record']:.2f} | {s['field_f1']:.3f} | {ratio} |"
        )
    if compiled:
        lines += ["", "| grammar compile | first ms | cached ms |", "|---|---|---|"]
    for name, c in compiled.items():
        lines.append(f"| {name} | {c['first_ms']:.2f} | {c['cached_ms']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
