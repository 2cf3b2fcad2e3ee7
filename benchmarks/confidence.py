"""Single-pass confidence against ensemble agreement, on the corpus, with the harness.

Systems, documents interleaved by ``extract.evaluate``:

- ``tokens:<aggregate>``: the embedded model, greedy, once per document; each
  aggregate (``min``, ``product``, ``first``, ``margin``: ``extract.core._confidence``)
  reads its confidence off the same answer's token evidence (one decode serves them
  all, so only the first of them shows the real records/s);
- ``samples``: five samples at temperature 0.4, voted (agreement);
- ``vote``: greedy with the schema, greedy with the field list, the field list at 0.4
  (agreement).

Prints per task and system: F1, records/s, values with a confidence, accuracy, AUROC,
ECE and the share keepable at precision 0.9, with the constant baseline beside (every
value equally sure: AUROC 0.5; all of them kept at 0.9 only if 90% are right). With
``--overhead``: the decode of one task with the token evidence computed and without,
alternating documents, as the ratio of records/s.

    python -m benchmarks.confidence --tasks contact,invoice,team,news \\
        --json benchmarks/results/confidence.json
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import extract
from extract import Ensemble, Extractor, Member
from extract.api._verbs import Verbs
from extract.apps.evaluation._calibration import threshold_for
from extract.apps.evaluation._report import DocumentRun
from extract.backends import Backend
from extract.core._confidence import AGGREGATES, token_confidence
from extract.core._result import Result
from extract.core._runner import Job, Prepare, Runner
from extract.schemas import value_at
from tests.corpus import TASKS, evaluation_data, load


class Reread:
    """A runner that reads another aggregate off the answers of a shared one: every
    aggregate scores the same decode, so they differ only in how they combine."""

    def __init__(self, inner: Runner, aggregate: str, memo: dict[str, Result[Any]]) -> None:
        self.inner, self.aggregate, self.memo = inner, aggregate, memo

    @property
    def name(self) -> str:
        return f"{self.inner.name} [{self.aggregate}]"

    @property
    def takes_back(self) -> bool:
        return self.inner.takes_back

    def concurrency(self, requested: int | None) -> int:
        return self.inner.concurrency(requested)

    def limited(self, wrap: Callable[[Backend], Backend]) -> Runner:
        return Reread(self.inner.limited(wrap), self.aggregate, self.memo)

    def run(self, job: Job, prepare: Prepare | None = None) -> Result[Any]:
        result = self.memo.get(job.text)
        if result is None:
            result = self.memo[job.text] = self.inner.run(job)
        evidence = result.attempts[-1].evidence if result.attempts else ()
        confidence = token_confidence(result.raw, evidence, self.aggregate)
        return dataclasses.replace(result, confidence=confidence)

    async def arun(self, job: Job, prepare: Prepare | None = None) -> Result[Any]:
        return self.run(job, prepare)


def systems() -> dict[str, Any]:
    single = Extractor()
    memo: dict[str, Result[Any]] = {}
    plan: dict[str, Any] = {
        f"tokens:{name}": Verbs(Reread(single.runner, name, memo)) for name in AGGREGATES
    }
    vote_model = Extractor()
    plan["samples"] = Ensemble([Extractor()], samples=5, temperature=0.4)
    plan["vote"] = Ensemble(
        [
            Member(vote_model, name="schema"),
            Member(vote_model, options={"prompt": "fields"}, name="fields"),
            Member(
                vote_model,
                options={"prompt": "fields", "temperature": 0.4, "seed": 0},
                name="fields@0.4",
            ),
        ]
    )
    return plan


def _values(run: DocumentRun) -> list[tuple[float | None, bool]]:
    """``(confidence, right)`` of each value the run predicted (a leaf, not null)."""
    return [
        (run.confidence.get(pointer), right)
        for pointer, right in run.score.leaves.items()
        if value_at(run.prediction, pointer)[1] is not None
    ]


def routing(runs: list[DocumentRun], precision: float = 0.9) -> dict[str, Any]:
    """What ``extract ingest --min-confidence`` would load: records whose every value is
    at or above the threshold for ``precision``, and how right their values are.

    The threshold is fitted on half the documents and applied to the other half, both
    ways (so no document is judged by a threshold its own values chose), and also
    in-sample for comparison.
    """
    valid = [r for r in runs if r.valid]

    def pairs(part: list[DocumentRun]) -> list[tuple[float, bool]]:
        return [(c, ok) for r in part for c, ok in _values(r) if c is not None]

    def load(part: list[DocumentRun], threshold: float | None) -> tuple[int, int, int]:
        docs = right = values = 0
        for run in part:
            found = _values(run)
            if threshold is None or any(c is None or c < threshold for c, _ in found):
                continue
            docs += 1
            values += len(found)
            right += sum(ok for _, ok in found)
        return docs, right, values

    halves = (valid[0::2], valid[1::2])
    crossed = [load(halves[1 - i], threshold_for(pairs(halves[i]), precision)) for i in (0, 1)]
    docs, right, values = (sum(x) for x in zip(*crossed, strict=True))
    everything = [ok for r in valid for _, ok in _values(r)]
    own = load(valid, threshold_for(pairs(valid), precision))
    return {
        "documents": len(valid),
        "precision_all": sum(everything) / len(everything) if everything else None,
        "loaded": docs,
        "precision_loaded": right / values if values else None,
        "in_sample_threshold": threshold_for(pairs(valid), precision),
        "in_sample_loaded": own[0],
        "in_sample_precision": own[1] / own[2] if own[2] else None,
    }


def held_out_calibration(report: Any, system: str) -> dict[str, Any]:
    """ECE of the raw and of the calibrated confidences, each half of the documents
    calibrated by a ``Calibration`` fitted on the other half; and how right the values
    are that the calibrated confidence puts at 0.9 or above (0.9 should mean 90%)."""
    from extract.apps.evaluation import EvalReport, fit_calibration
    from extract.apps.evaluation._calibration import ece

    runs = [d for d in report.documents if d.system == system and d.valid]
    halves = (runs[0::2], runs[1::2])
    raw: list[tuple[float, bool]] = []
    mapped: list[tuple[float, bool]] = []
    for i in (0, 1):
        fitted_on = EvalReport(report.target, [system], halves[i])
        try:
            calibration = fit_calibration(fitted_on, system)
        except extract.UsageError:
            return {}
        for run in halves[1 - i]:
            calibrated = calibration.apply(run.confidence)
            for pointer, right in run.score.leaves.items():
                if value_at(run.prediction, pointer)[1] is None or pointer not in run.confidence:
                    continue
                raw.append((run.confidence[pointer], right))
                mapped.append((calibrated[pointer], right))
    kept = [right for sure, right in mapped if sure >= 0.9]
    return {
        "values": len(raw),
        "ece_raw": ece(raw),
        "ece_calibrated": ece(mapped),
        "at_0.9_kept": len(kept),
        "at_0.9_precision": sum(kept) / len(kept) if kept else None,
    }


def constant(accuracy: float) -> dict[str, float]:
    """Every value equally sure: AUROC 0.5, and all kept at 0.9 only if 90% are right."""
    return {"auroc": 0.5, "coverage": 1.0 if accuracy >= 0.9 else 0.0}


def overhead(task: str, limit: int | None) -> dict[str, float]:
    """records/s with the token evidence computed and without, alternating documents."""
    import extract.backends._answer as answer

    target = TASKS[task][0]
    docs = load(task)[:limit] if limit else load(task)
    with_it, without = Extractor(), Extractor()
    for warm in (with_it, without):
        warm.run(target, docs[0].text)
    real = answer.evidence
    seconds = {"with": 0.0, "without": 0.0}
    for doc in docs:
        for label, ex in (("with", with_it), ("without", without)):
            answer.evidence = real if label == "with" else (lambda *_: None)  # type: ignore[assignment]
            started = time.perf_counter()
            with contextlib.suppress(extract.ExtractError):  # a failure takes its time too
                ex.run(target, doc.text)
            seconds[label] += time.perf_counter() - started
    answer.evidence = real
    return {
        "documents": len(docs),
        "with_s": seconds["with"],
        "without_s": seconds["without"],
        "records_per_s_ratio": seconds["without"] / seconds["with"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="contact,invoice,team,news")
    parser.add_argument("--limit", type=int, help="documents per task (default: all)")
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--overhead", help="a task to time with and without the evidence")
    parser.add_argument("--systems", help="only these systems (comma-separated names)")
    args = parser.parse_args()
    if args.overhead:
        print(json.dumps(overhead(args.overhead, args.limit), indent=1))
        return 0
    tasks = [t for t in args.tasks.split(",") if t]
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        parser.error(f"unknown task(s) {unknown}; known: {sorted(TASKS)}")
    plan = systems()
    if args.systems:
        wanted = args.systems.split(",")
        unknown = sorted(set(wanted) - set(plan))
        if unknown:
            parser.error(f"unknown system(s) {unknown}; known: {sorted(plan)}")
        plan = {name: plan[name] for name in wanted}
    rows: list[dict[str, Any]] = []
    for task in tasks:
        target = TASKS[task][0]
        data, examples = evaluation_data(task, args.limit)
        report = extract.evaluate(target, data, plan, examples=examples, progress=True)
        print(f"\n== {task}\n{report.render()}", flush=True)
        for name in report.systems:
            s = report.summary(name).to_json()
            c = s.get("calibration", {})
            fields = [f["auroc"] for f in c.get("fields", {}).values() if f["auroc"] is not None]
            rows.append(
                {
                    "task": task,
                    "system": name,
                    "f1": s["micro"]["f1"],
                    "records_per_s": s["records_per_s"],
                    "values": c.get("values", 0),
                    "accuracy": c.get("accuracy"),
                    "auroc": c.get("auroc"),
                    "field_auroc": statistics.fmean(fields) if fields else None,
                    "ece": c.get("ece"),
                    "coverage": c.get("coverage_at_0.9"),
                    "constant": constant(c["accuracy"]) if c else None,
                    "routing": routing([d for d in report.documents if d.system == name]),
                    "calibrated": held_out_calibration(report, name),
                }
            )
    print(table(rows))
    print(routing_table(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return 0


def table(rows: list[dict[str, Any]]) -> str:
    def num(value: float | None, form: str = ".3f") -> str:
        return "-" if value is None else format(value, form)

    lines = [
        "| task | system | F1 | records/s | values | right | AUROC | AUROC per field "
        "| ECE | coverage at 0.9 | constant: coverage |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['system']} | {r['f1']:.3f} | {r['records_per_s']:.2f} | "
            f"{r['values']} | {num(r['accuracy'], '.0%')} | {num(r['auroc'])} | "
            f"{num(r['field_auroc'])} | {num(r['ece'])} | {num(r['coverage'], '.0%')} | "
            f"{num(r['constant'] and r['constant']['coverage'], '.0%')} |"
        )
    return "\n".join(lines)


def routing_table(rows: list[dict[str, Any]]) -> str:
    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.0%}"

    lines = [
        "| task | system | documents | precision, all loaded | loaded at the 0.9 threshold "
        "| their precision | in-sample: loaded, precision |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        g = r["routing"]
        lines.append(
            f"| {r['task']} | {r['system']} | {g['documents']} | {share(g['precision_all'])} | "
            f"{g['loaded']} | {share(g['precision_loaded'])} | "
            f"{g['in_sample_loaded']}, {share(g['in_sample_precision'])} |"
        )
    lines += [
        "",
        "| task | system | values | ECE raw | ECE calibrated (held out) "
        "| calibrated >= 0.9: values, right |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        c = r["calibrated"]
        if not c:
            continue
        lines.append(
            f"| {r['task']} | {r['system']} | {c['values']} | {c['ece_raw']:.3f} | "
            f"{c['ece_calibrated']:.3f} | {c['at_0.9_kept']}, {share(c['at_0.9_precision'])} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
