"""One-off extraction speed: every document with its own schema (tests/corpus/oneoff.py),
ours against outlines and llama-cpp-python's JSON mode on the embedded GGUF model.

    python backends/llama_build.py install && pip install -e '.[benchmarks]'
    python -m benchmarks.oneoff [--limit 15] [--prompt schema|fields]
        [--json benchmarks/results/oneoff.json]

No schema repeats, so no system can reuse a grammar or the KV cache of a schema-bearing
prompt: each case pays for compiling its schema and evaluating its whole prompt. Every
system has its own ``llama_cpp.Llama`` (same file, 2 threads, ``n_ctx`` 4096), the same
chat messages (our system prompt, which states the schema, then the document), greedy
decoding and a 512-token budget. Each runs once on a throwaway schema first, so one-time
costs (outlines' numba compilation) are not billed to the first case. Per case the
systems run one after another in an order that rotates from case to case, so drift on
this shared machine does not always hit the same one.

Systems (``benchmarks/local.py`` builds the peers):

* ours: ``extract.Extractor(LlamaCppBackend(path))``, ``max_tokens=512``, its default
  repair retries; our schema cache is cleared before each case (the peers' prompts
  compile the schema too), so ours compiles every schema as a one-off caller would;
* outlines: ``outlines.Generator(model, Target)``, a new generator per schema;
* llama-cpp JSON mode: ``response_format={"type": "json_object", "schema": ...}``. On a
  grammar llama.cpp cannot parse (its converter writes ``\\d`` of a pattern through as
  is) the sampler is NULL and the process crashes, so such a schema is checked first and
  counted as rejected: no value, no call.

Reported per system: records/s (documents / total seconds), valid values, field F1 (the
project's scorer on the hand-written gold), model calls, prompt tokens evaluated (those
the prefix cache did not hold) and completion tokens per record, and records/s against
the fastest peer. Then, per schema, ours' decode rate under the grammar (the tokens of
every attempt over their decode time, as the backend reports it) against plain greedy
decoding (argmax, no mask) of as many tokens per attempt after the same prompt, on a
separate context of the same model; forced runs of tokens are evaluated in one pass by
ours (fast-forward), so the ratio can pass 1.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The repository root, for benchmarks.*; benchmarks.local then takes this folder off the
# path (benchmarks/coverage.py would shadow the coverage package that numba imports).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import llama_cpp
from llama_cpp.llama_grammar import LLAMA_GRAMMAR_DEFAULT_ROOT, json_schema_to_gbnf
from pydantic import BaseModel, TypeAdapter

import extract
from benchmarks._greedy import greedy
from benchmarks.local import MAX_TOKENS, json_mode, new_llama, outlines_system
from extract.backends import Completion, Request
from extract.backends.llamacpp import LlamaCppBackend, _quiet_stderr
from extract.core._model import default_model_path
from extract.core._prompt import build_messages
from extract.core._result import Usage
from extract.evaluation import Counts
from extract.schemas import clear_cache, compile_schema
from tests.corpus.oneoff import CASES, OneOff, field_scores

THREADS = 2


class _Warmup(BaseModel):
    city: str


WARMUP = OneOff("warm-up", _Warmup, "The parcel goes to Oslo on Monday.", {"city": "Oslo"})


@dataclass(frozen=True)
class Trial:
    """What one system did with one case."""

    value: Any  # the typed value, or None when there was no valid one
    calls: int
    prompt_evaluated: int  # prompt tokens evaluated, not taken from a prefix cache
    completion_tokens: int
    rejected: bool = False  # the system could not take the schema: nothing was run
    # Ours: each model call's completion tokens and decode seconds.
    decode: tuple[tuple[int, float], ...] = ()


System = Callable[[OneOff], Trial]


def _evaluated(usage: Usage) -> int:
    return usage.prompt_tokens - usage.cached_prompt_tokens


def ours(prompt: str) -> System:
    backend = LlamaCppBackend(default_model_path(), n_threads=THREADS)
    extractor = extract.Extractor(backend)
    # Result.timings holds the last call's only: a retry's decoding is recorded here.
    calls: list[tuple[int, float]] = []
    complete = backend.complete

    def timed(request: Request) -> Completion:
        completion = complete(request)
        calls.append((completion.completion_tokens, completion.timings["decode_s"]))
        return completion

    backend.complete = timed  # type: ignore[method-assign]

    def run(case: OneOff) -> Trial:
        clear_cache()
        calls.clear()
        try:
            result = extractor.run(case.target, case.text, max_tokens=MAX_TOKENS, prompt=prompt)
        except extract.ExtractionError as failed:
            value, attempts, usage = None, failed.attempts, failed.usage
        else:
            value, attempts, usage = result.value, result.attempts, result.usage
        return Trial(
            value, len(attempts), _evaluated(usage), usage.completion_tokens, decode=tuple(calls)
        )

    return run


class PromptEvaluated:
    """Prompt tokens a ``Llama`` evaluates: the first ``eval`` of each ``generate`` call
    takes the prompt less the prefix its KV cache already held."""

    def __init__(self, llm: llama_cpp.Llama) -> None:
        self.tokens = 0
        fresh = [False]
        generate, evaluate = llm.generate, llm.eval

        def generating(*args: Any, **kwargs: Any) -> Any:
            fresh[0] = True
            return generate(*args, **kwargs)

        def counted(tokens: Any) -> None:
            if fresh[0]:
                fresh[0] = False
                self.tokens += len(tokens)
            evaluate(tokens)

        llm.generate = generating  # type: ignore[method-assign]
        llm.eval = counted  # type: ignore[method-assign]


def gbnf_parses(llm: llama_cpp.Llama, target: type[BaseModel]) -> bool:
    """Whether llama.cpp parses the GBNF that JSON mode would write for ``target``."""
    schema = json.dumps(TypeAdapter(target).json_schema())
    try:
        grammar = json_schema_to_gbnf(schema)
    except Exception:  # the converter's own refusals (keywords it does not support)
        return False
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    with _quiet_stderr():  # llama.cpp prints the grammar it failed on
        sampler = llama_cpp.llama_sampler_init_grammar(
            vocab, grammar.encode("utf-8"), LLAMA_GRAMMAR_DEFAULT_ROOT.encode("utf-8")
        )
    if not sampler:
        return False
    llama_cpp.llama_sampler_free(sampler)
    return True


def peer(make: Callable[[llama_cpp.Llama], Any], prompt: str, check_gbnf: bool = False) -> System:
    llm = new_llama(THREADS)
    counter = PromptEvaluated(llm)
    run = make(llm)

    def trial(case: OneOff) -> Trial:
        if check_gbnf and not gbnf_parses(llm, case.target):
            return Trial(None, 0, 0, 0, rejected=True)
        before = counter.tokens
        outcome = run(case.target, case.text, prompt)
        return Trial(outcome.value, outcome.calls, counter.tokens - before, outcome.output_tokens)

    return trial


class RawDecode:
    """Plain greedy decoding on a separate context of the same model: argmax of the
    logits, no mask, one forward pass per token, timed after the prompt is evaluated."""

    def __init__(self, prompt: str) -> None:
        self.backend = LlamaCppBackend(default_model_path(), n_threads=THREADS)
        self.prompt = prompt
        self.seconds(WARMUP, 8)  # a new context's first passes are slow: not a schema's cost

    def seconds(self, case: OneOff, tokens: int) -> float:
        """Seconds to decode ``tokens`` tokens after ``case``'s prompt."""
        schema = compile_schema(case.target).json_schema
        messages = build_messages(
            schema, case.text, instructions=None, examples=(), target=case.target,
            prompt=self.prompt,
        )  # fmt: skip
        return greedy(self.backend, self.backend.prompt_tokens(messages), tokens)[1]


@dataclass
class Tally:
    seconds: float = 0.0
    documents: int = 0
    valid: int = 0
    rejected: int = 0
    calls: int = 0
    prompt_evaluated: int = 0
    completion_tokens: int = 0
    fields: Counts = field(default_factory=Counts)

    def add(self, trial: Trial, seconds: float, counts: Counts) -> None:
        self.seconds += seconds
        self.documents += 1
        self.valid += trial.value is not None
        self.rejected += trial.rejected
        self.calls += trial.calls
        self.prompt_evaluated += trial.prompt_evaluated
        self.completion_tokens += trial.completion_tokens
        self.fields.add(counts)

    def summary(self) -> dict[str, float]:
        n = max(1, self.documents)
        return {
            "documents": self.documents,
            "seconds": self.seconds,
            "records_per_s": self.documents / self.seconds if self.seconds else 0.0,
            "valid": self.valid,
            "rejected": self.rejected,
            "calls_per_record": self.calls / n,
            "prompt_tokens_evaluated_per_record": self.prompt_evaluated / n,
            "completion_tokens_per_record": self.completion_tokens / n,
            "field_precision": self.fields.precision,
            "field_recall": self.fields.recall,
            "field_f1": self.fields.f1,
        }


SYSTEMS: dict[str, Callable[[str], System]] = {
    "ours": ours,
    "outlines": lambda prompt: peer(outlines_system, prompt),
    "llama-cpp JSON mode": lambda prompt: peer(json_mode, prompt, check_gbnf=True),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=len(CASES), help="cases to run")
    parser.add_argument("--json", dest="json_out", type=Path, help="write the results here")
    parser.add_argument(
        "--prompt", choices=("schema", "fields"), default="schema", help="for every system"
    )
    args = parser.parse_args()
    if importlib.util.find_spec("outlines") is None or importlib.util.find_spec("numba") is None:
        parser.error("the outlines peer needs outlines and numba: pip install -e '.[benchmarks]'")

    cases = CASES[: args.limit]
    systems = {name: build(args.prompt) for name, build in SYSTEMS.items()}
    for system in systems.values():
        system(WARMUP)
    raw = RawDecode(args.prompt)
    names = list(systems)
    tallies = {name: Tally() for name in names}
    per_case: list[dict[str, Any]] = []
    decode: list[dict[str, Any]] = []
    for turn, case in enumerate(cases):
        order = names[turn % len(names) :] + names[: turn % len(names)]
        ours_decode: tuple[tuple[int, float], ...] = ()
        for name in order:
            started = time.perf_counter()
            trial = systems[name](case)
            seconds = time.perf_counter() - started
            counts = field_scores(case, trial.value)
            tallies[name].add(trial, seconds, counts)
            per_case.append({"case": case.id, "system": name, "seconds": seconds,
                             "valid": trial.value is not None, "rejected": trial.rejected,
                             "calls": trial.calls, "prompt_evaluated": trial.prompt_evaluated,
                             "completion_tokens": trial.completion_tokens,
                             **counts.to_json()})  # fmt: skip
            if name == "ours":
                ours_decode = trial.decode
        # Outside the timed runs: plain decoding of as many tokens as each of ours' calls.
        tokens = sum(n for n, _ in ours_decode)
        if tokens:
            ours_s = sum(s for _, s in ours_decode)
            raw_s = sum(raw.seconds(case, n) for n, _ in ours_decode)
            decode.append({"case": case.id, "calls": len(ours_decode), "tokens": tokens,
                           "ours_tokens_per_s": tokens / ours_s,
                           "raw_tokens_per_s": tokens / raw_s,
                           "ratio": raw_s / ours_s})  # fmt: skip
        print(f"\r{turn + 1}/{len(cases)} cases", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    summary = {name: tally.summary() for name, tally in tallies.items()}
    worst = min(decode, key=lambda row: row["ratio"]) if decode else None
    print(table(summary, len(cases)))
    print(decode_table(decode, worst))
    if args.json_out:
        payload = {
            "cases": [case.id for case in cases],
            "threads": THREADS,
            "max_tokens": MAX_TOKENS,
            "prompt": args.prompt,
            "systems": summary,
            "per_case": per_case,
            "decode": decode,
            "worst_decode": worst,
        }
        args.json_out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


def table(summary: dict[str, dict[str, float]], cases: int) -> str:
    peers = [s["records_per_s"] for name, s in summary.items() if name != "ours"]
    fastest = max(peers, default=0.0)
    lines = [
        f"{cases} one-off cases (each its own schema), {THREADS} threads, greedy, "
        f"max_tokens={MAX_TOKENS}",
        "",
        "| system | records/s | ÷ fastest peer | valid | rejected | field F1 | calls/record "
        "| prompt tokens evaluated/record | completion tokens/record |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in summary.items():
        ratio = f"{s['records_per_s'] / fastest:.2f}x" if fastest else "-"
        lines.append(
            f"| {name} | {s['records_per_s']:.3f} | {ratio} "
            f"| {s['valid']:.0f}/{s['documents']:.0f} | {s['rejected']:.0f} "
            f"| {s['field_f1']:.3f} | {s['calls_per_record']:.2f} "
            f"| {s['prompt_tokens_evaluated_per_record']:.1f} "
            f"| {s['completion_tokens_per_record']:.1f} |"
        )
    return "\n".join(lines)


def decode_table(rows: list[dict[str, Any]], worst: dict[str, Any] | None) -> str:
    lines = [
        "",
        "| schema | calls | tokens | ours tokens/s (grammar) | plain greedy tokens/s "
        "| ours ÷ plain |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['case']} | {row['calls']} | {row['tokens']} | {row['ours_tokens_per_s']:.1f} "
            f"| {row['raw_tokens_per_s']:.1f} | {row['ratio']:.2f}x |"
        )
    if worst is not None:
        median = statistics.median(row["ratio"] for row in rows)
        lines += ["", f"ours ÷ plain: median {median:.2f}x, worst {worst['ratio']:.2f}x "
                  f"({worst['case']})"]  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
