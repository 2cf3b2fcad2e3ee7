"""Real-world schema coverage: our compiler vs raw llguidance on the same files.

Reads a folder of MaskBench-format files (``{"schema": ..., "tests": [{"valid", "data"}]}``)
and reports, per subset (the file-name prefix before ``---``):

- schemas seen; compiled fully, degraded (part validated after decoding), crashed;
- valid instances accepted: the compact JSON of the instance, keys in the schema's
  property order, passes the grammar *and* the post-decoding validation;
- invalid instances rejected: by the grammar or by the post-decoding validation
  (raw llguidance has only its grammar);
- compile time p50/p95/max: schema in, matcher ready and its first token mask
  computed, with the embedded model's tokenizer (the time before the first token).

    python -m benchmarks.coverage --data ../shared/data/jsonschemabench [--json OUT]
        [--every K] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import traceback
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import llguidance

import extract.schemas as schemas

FIELDS = (
    "schemas",
    "compiled_full",
    "degraded",
    "crashed",
    "valid_total",
    "valid_accepted",
    "invalid_total",
    "invalid_rejected",
    "compile_ms_p50",
    "compile_ms_p95",
    "compile_ms_max",
)


@dataclass
class Tally:
    """Counts for one system on one subset."""

    schemas: int = 0
    compiled_full: int = 0
    degraded: int = 0
    crashed: int = 0
    not_a_schema: int = 0  # rejected with a clear error: the file's schema is invalid
    valid_total: int = 0
    valid_accepted: int = 0
    invalid_total: int = 0
    invalid_rejected: int = 0
    compile_ms: dict[str, float] = field(default_factory=dict)  # file name -> ms
    problems: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        ms = sorted(self.compile_ms.values())
        return {
            "schemas": self.schemas,
            "compiled_full": self.compiled_full,
            "degraded": self.degraded,
            "crashed": self.crashed,
            "not_a_schema": self.not_a_schema,
            "valid_total": self.valid_total,
            "valid_accepted": self.valid_accepted,
            "invalid_total": self.invalid_total,
            "invalid_rejected": self.invalid_rejected,
            "compile_ms_p50": round(_quantile(ms, 0.5), 2),
            "compile_ms_p95": round(_quantile(ms, 0.95), 2),
            "compile_ms_max": round(ms[-1], 2) if ms else 0.0,
        }


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def subset_of(path: Path) -> str:
    """``Github_easy---o1.json`` -> ``Github_easy``; ``BFCL_simple_12.json`` -> ``BFCL_simple``."""
    if "---" in path.name:
        return path.name.split("---", 1)[0]
    return re.sub(r"_\d+$", "", path.stem)


def timing_tokenizer() -> tuple[Any, str]:
    """The embedded model's vocabulary when the local extra is installed, else bytes."""
    try:
        import llama_cpp

        from extract.backends.llamacpp import tokenizer_for
        from extract.core._model import default_model_path

        llm = llama_cpp.Llama(model_path=default_model_path(), vocab_only=True, verbose=False)
        _keep_alive.append(llm)  # the tokenizer calls into this vocabulary: see main()
        return tokenizer_for(llm), "embedded model vocabulary"
    except Exception as exc:  # no local extra: compile times are then not comparable
        return schemas.byte_tokenizer(), f"byte vocabulary ({exc})"


_keep_alive: list[Any] = []


def ready_matcher(tokenizer: Any, grammar: str) -> Any:
    matcher = llguidance.LLMatcher(tokenizer, grammar, log_level=0)
    if matcher.is_error():
        raise ValueError(matcher.get_error())
    matcher.compute_bitmask()  # the first mask: work the engine defers until it is needed
    return matcher


# ---- key order: llguidance writes properties in the schema's order ----


def in_schema_order(value: Any, schema: Any, root: Any, depth: int = 0) -> Any:
    """``value`` with object keys in the order the schema declares them (recursively)."""
    schema = _resolve(schema, root)
    if depth > 50 or not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        order = _property_order(schema, root)
        keys = [k for k in order if k in value] + [k for k in value if k not in order]
        return {
            k: in_schema_order(value[k], _child(schema, k, root), root, depth + 1) for k in keys
        }
    if isinstance(value, list):
        return [
            in_schema_order(item, _item_schema(schema, i, root), root, depth + 1)
            for i, item in enumerate(value)
        ]
    return value


def _resolve(schema: Any, root: Any, hops: int = 0) -> Any:
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and hops < 20:
        target = _pointer(root, schema["$ref"])
        if target is None:
            return schema
        schema, hops = target, hops + 1
    return schema


def _pointer(root: Any, ref: str) -> Any:
    if not ref.startswith("#"):
        return None
    node = root
    for part in ref[1:].split("/")[1:] if ref != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _branches(schema: dict[str, Any], root: Any) -> Iterator[dict[str, Any]]:
    yield schema
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(keyword, []) if isinstance(schema.get(keyword), list) else []:
            sub = _resolve(sub, root)
            if isinstance(sub, dict):
                yield from _branches(sub, root)


def _property_order(schema: dict[str, Any], root: Any) -> list[str]:
    order: list[str] = []
    for branch in _branches(schema, root):
        props = branch.get("properties")
        if isinstance(props, dict):
            order.extend(k for k in props if k not in order)
    return order


def _child(schema: dict[str, Any], key: str, root: Any) -> Any:
    for branch in _branches(schema, root):
        props = branch.get("properties")
        if isinstance(props, dict) and key in props:
            return props[key]
    for branch in _branches(schema, root):
        extra = branch.get("additionalProperties")
        if isinstance(extra, dict):
            return extra
    return {}


def _item_schema(schema: dict[str, Any], index: int, root: Any) -> Any:
    for branch in _branches(schema, root):
        prefix = branch.get("prefixItems")
        if isinstance(prefix, list) and index < len(prefix):
            return prefix[index]
        items = branch.get("items")
        if isinstance(items, list):
            if index < len(items):
                return items[index]
            continue
        if isinstance(items, dict):
            return items
    return {}


# ---- the two systems ----


def run_ours(data: dict[str, Any], tally: Tally, tokenizer: Any, name: str) -> None:
    schema = data["schema"]
    schemas.clear_cache()
    started = time.perf_counter()
    try:
        compiled = schemas.compile_schema(schema)
        compiled.matcher(tokenizer).compute_bitmask()  # ready for the first token
    except schemas.SchemaError as exc:
        tally.not_a_schema += 1
        tally.problems.append(f"{name}: not a schema: {exc}")
        return
    tally.compile_ms[name] = (time.perf_counter() - started) * 1000
    if compiled.report.degraded:
        tally.degraded += 1
    else:
        tally.compiled_full += 1
    checker = schemas.GrammarChecker(compiled.grammar)
    for test in data.get("tests", []):
        grammar_ok, text = grammar_text(test["data"], schema, checker, search=test["valid"])
        valid_ok = not isinstance(compiled.validate(text), schemas.Invalid)
        if test["valid"]:
            tally.valid_total += 1
            if grammar_ok and valid_ok:
                tally.valid_accepted += 1
            else:
                why = "grammar" if not grammar_ok else "validation"
                tally.problems.append(f"{name}: valid instance rejected by {why}: {text[:120]}")
        else:
            tally.invalid_total += 1
            if not (grammar_ok and valid_ok):
                tally.invalid_rejected += 1
            else:
                tally.problems.append(f"{name}: invalid instance accepted: {text[:120]}")


def run_llguidance(data: dict[str, Any], tally: Tally, tokenizer: Any, name: str) -> None:
    """llguidance as it ships: its default options, no lenient mode, no post-validation."""
    schema = data["schema"]
    started = time.perf_counter()
    try:
        grammar = llguidance.LLMatcher.grammar_from_json_schema(schema)
        matcher = ready_matcher(tokenizer, grammar)
    except (ValueError, TypeError, RuntimeError) as exc:
        tally.crashed += 1
        tally.problems.append(f"{name}: llguidance refused: {str(exc)[:160]}")
        return
    tally.compile_ms[name] = (time.perf_counter() - started) * 1000
    messages = matcher.get_grammar_warnings()
    if messages:
        tally.degraded += 1
    else:
        tally.compiled_full += 1
    checker = schemas.GrammarChecker(grammar)
    for test in data.get("tests", []):
        accepted, _ = grammar_text(test["data"], schema, checker, search=test["valid"])
        if test["valid"]:
            tally.valid_total += 1
            tally.valid_accepted += accepted
        else:
            tally.invalid_total += 1
            tally.invalid_rejected += not accepted


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def grammar_text(
    value: Any, schema: Any, checker: schemas.GrammarChecker, search: bool
) -> tuple[bool, str]:
    """Whether the grammar accepts the compact JSON of ``value``, keys in schema order.

    llguidance writes declared properties in the schema's order, and under ``anyOf``
    in the order of the branch it follows. With ``search`` (used for valid instances,
    for both systems alike), other key orders are tried where the grammar refuses
    the first, the grammar itself saying which key may come next (bounded).
    """
    value = in_schema_order(value, schema, schema)
    text = compact(value)
    if checker.accepts(text):
        return True, text
    if not search or len(text) > _SEARCH_MAX_CHARS:
        return False, text  # each search step copies the matcher: too slow for big texts
    budget = [_SEARCH_BUDGET]

    def feed(matcher: Any, piece: str) -> Any:
        budget[0] -= 1
        copy = matcher.deep_copy()
        return copy if copy.consume_tokens(list(piece.encode("utf-8"))) else None

    def write(node: Any, matcher: Any) -> tuple[Any, str] | None:
        if isinstance(node, dict):
            opened = feed(matcher, "{")
            return None if opened is None else members(node, list(node), opened, "")
        if isinstance(node, list):
            state, text = feed(matcher, "["), "["
            for i, item in enumerate(node):
                if state is None or (i and (state := feed(state, ",")) is None):
                    return None
                done = write(item, state)
                if done is None:
                    return None
                state, piece = done
                text += ("," if i else "") + piece
            closed = None if state is None else feed(state, "]")
            return None if closed is None else (closed, text + "]")
        piece = compact(node)
        state = feed(matcher, piece)
        return None if state is None else (state, piece)

    def members(node: dict[str, Any], remaining: list[str], state: Any, text: str) -> Any:
        if not remaining:
            closed = feed(state, "}")
            return None if closed is None else (closed, "{" + text + "}")
        sep = "," if text else ""
        for key in remaining:
            if budget[0] <= 0:
                return None
            keyed = feed(state, f"{sep}{compact(key)}:")
            if keyed is None:
                continue
            done = write(node[key], keyed)
            if done is None:
                continue
            rest = [k for k in remaining if k != key]
            found = members(node, rest, done[0], f"{text}{sep}{compact(key)}:{done[1]}")
            if found is not None:
                return found
        return None

    result = write(value, checker.fresh())
    if result is None or not result[0].is_accepting():
        return False, compact(value)
    return True, result[1]


_SEARCH_BUDGET = 2000  # matcher steps per instance; instances here need far fewer
_SEARCH_MAX_CHARS = 4000


# ---- report ----


def table(rows: dict[str, dict[str, Any]], raw: dict[str, dict[str, Any]]) -> str:
    def pct(a: int, b: int) -> str:
        return f"{100 * a / b:.1f}%" if b else "-"

    lines = [
        "| subset | schemas | ours full / degraded / crashed | llguidance compiled / refused "
        "| valid accepted: ours / llguidance | invalid rejected: ours / llguidance "
        "| compile ms p50 / p95 / max: ours | llguidance |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in [*sorted(k for k in rows if k != "ALL"), "ALL"]:
        o, r = rows[name], raw[name]
        lines.append(
            f"| {name} | {o['schemas']} "
            f"| {o['compiled_full']} / {o['degraded']} / {o['crashed']} "
            f"| {r['compiled_full'] + r['degraded']} / {r['crashed']} "
            f"| {pct(o['valid_accepted'], o['valid_total'])} / "
            f"{pct(r['valid_accepted'], r['valid_total'])} "
            f"| {pct(o['invalid_rejected'], o['invalid_total'])} / "
            f"{pct(r['invalid_rejected'], r['invalid_total'])} "
            f"| {o['compile_ms_p50']} / {o['compile_ms_p95']} / {o['compile_ms_max']} "
            f"| {r['compile_ms_p50']} / {r['compile_ms_p95']} / {r['compile_ms_max']} |"
        )
    return "\n".join(lines)


def same_files(ours: Tally, raw: Tally) -> dict[str, Any]:
    """Compile times on the files both systems compile: the fair comparison."""
    common = sorted(set(ours.compile_ms) & set(raw.compile_ms))
    a = sorted(ours.compile_ms[f] for f in common)
    b = sorted(raw.compile_ms[f] for f in common)
    p95_a, p95_b = _quantile(a, 0.95), _quantile(b, 0.95)
    return {
        "files": len(common),
        "ours_p50": round(_quantile(a, 0.5), 2),
        "ours_p95": round(p95_a, 2),
        "llguidance_p50": round(_quantile(b, 0.5), 2),
        "llguidance_p95": round(p95_b, 2),
        "ratio_p95": round(p95_a / p95_b, 2) if p95_b else None,
        "ours_max": round(max(ours.compile_ms.values(), default=0.0), 2),
    }


def merged(tallies: dict[str, Tally]) -> Tally:
    total = Tally()
    for t in tallies.values():
        for name in ("schemas", "compiled_full", "degraded", "crashed", "not_a_schema"):
            setattr(total, name, getattr(total, name) + getattr(t, name))
        for name in ("valid_total", "valid_accepted", "invalid_total", "invalid_rejected"):
            setattr(total, name, getattr(total, name) + getattr(t, name))
        total.compile_ms.update(t.compile_ms)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path, help="folder of MaskBench files")
    parser.add_argument("--json", dest="json_out", type=Path, help="write the figures here")
    parser.add_argument("--every", type=int, default=1, help="take every K-th file (sampling)")
    parser.add_argument("--limit", type=int, help="stop after N files")
    parser.add_argument("--problems", type=Path, help="write every rejection reason here")
    args = parser.parse_args(argv)

    files = sorted(args.data.glob("*.json"))[:: args.every][: args.limit]
    if not files:
        print(f"no *.json files in {args.data}", file=sys.stderr)
        return 2
    tokenizer, vocabulary = timing_tokenizer()
    print(f"{len(files)} files; compile times with the {vocabulary}", file=sys.stderr)
    try:
        return run(files, tokenizer, args)
    finally:
        while _keep_alive:
            _keep_alive.pop().close()  # before interpreter exit tears llama.cpp down


def run(files: list[Path], tokenizer: Any, args: argparse.Namespace) -> int:
    ours: dict[str, Tally] = defaultdict(Tally)
    raw: dict[str, Tally] = defaultdict(Tally)
    started = time.perf_counter()
    for i, path in enumerate(files, 1):
        subset = subset_of(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        for system, tally in ((run_ours, ours[subset]), (run_llguidance, raw[subset])):
            tally.schemas += 1
            try:
                system(data, tally, tokenizer, path.name)
            except Exception:
                tally.crashed += 1
                tally.problems.append(f"{path.name}: CRASH {traceback.format_exc(limit=3)}")
        if i % 100 == 0 or i == len(files):
            rate = i / (time.perf_counter() - started)
            print(f"\r{i}/{len(files)} files, {rate:.0f}/s", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    ours["ALL"], raw["ALL"] = merged(ours), merged(raw)
    rows = {name: t.figures() for name, t in ours.items()}
    raw_rows = {name: t.figures() for name, t in raw.items()}
    same = same_files(ours["ALL"], raw["ALL"])
    print(table(rows, raw_rows))
    print(
        f"\ncompile ms on the {same['files']} files both compile: p50 {same['ours_p50']} vs "
        f"{same['llguidance_p50']}, p95 {same['ours_p95']} vs {same['llguidance_p95']} "
        f"(ours / llguidance at p95: {same['ratio_p95']}x); slowest of ours: {same['ours_max']} ms"
    )
    if args.json_out:
        args.json_out.write_text(
            json.dumps({"subsets": rows, "llguidance": raw_rows, "same_files": same}, indent=2),
            encoding="utf-8",
        )
    if args.problems:
        lines = [p for t in ours.values() for p in t.problems]
        lines += ["--- llguidance ---"] + [p for t in raw.values() for p in t.problems]
        args.problems.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 1 if ours["ALL"].crashed else 0


if __name__ == "__main__":
    sys.exit(main())
