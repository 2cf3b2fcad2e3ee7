"""Work saved: a simulated reviewer corrects the loop's suggestions to gold.

Documents come in order. At each, ``extract.Loop.suggest`` runs every system it has
(the teacher, the teacher with the nearest answered records as examples, the student
once trained) and composes its suggestion; the reviewer then answers with gold
(``Loop.answer``), which starts a retraining in the background every ``--retrain-every``
answers, as it would under a person (who is slower than this simulation, so the
student here lags more than it would). The work on a document is the leaf values the
reviewer must add, delete or change (``Counts.edits`` of the project's scorer), for:

- ``typing``: an annotator who types everything (the gold's leaf count);
- ``teacher``: the teacher's own suggestion; ``nearest``: the teacher with nearest
  examples (both are the loop's own runs of those systems: the same model, greedy);
- ``student``: the student alone, where there is one (else the teacher's work);
- ``vote``: the loop's vote of the systems it ran, leaf by leaf;
- ``loop``: what the loop suggested, each field from the system that scored best.

Every suggestion is made before its document is answered, so every F1 is on held-out
gold. Tasks: ``news`` (generated news items, ``tests/corpus/synthetic_news.py``) and
``contact`` (generated e-mail signatures, ``tests/corpus/synthetic.py``).

    python -m benchmarks.loop --tasks news --json benchmarks/results/loop-news.json
    python -m benchmarks.loop --tasks contact --json benchmarks/results/loop-contact.json
    python -m benchmarks.loop --from-json benchmarks/results/loop-news.json,\\
        benchmarks/results/loop-contact.json --plot benchmarks/results/loop.png
    python -m benchmarks.loop --transfer --tasks news,contact \\
        --json benchmarks/results/loop-transfer.json
    python -m benchmarks.loop --warm-start --tasks news,contact \\
        --json benchmarks/results/loop-warm.json

``--warm-start`` answers whether retraining should start from the previous student:
two chains of students trained on the first 20, 40, ... documents (the loop's
settings), one from blank each time and one from the chain's previous student, each
timed and scored on documents 201-300 (never trained on) and on the hand-written corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from typing import Any

from pydantic_core import to_jsonable_python

import extract
from extract.apps.evaluation._score import Counts, Scorer
from extract.apps.loop import _train
from extract.core._options import compile_target
from tests.corpus import Contact, News
from tests.corpus.synthetic import contacts
from tests.corpus.synthetic_news import news_items

SYSTEMS = ("typing", "teacher", "nearest", "student", "vote", "loop")
MADE = SYSTEMS[1:]  # the systems that suggest
COLOURS = dict(zip(SYSTEMS, ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
                             "tab:brown"), strict=True))  # fmt: skip


def documents(task: str, n: int) -> tuple[Any, list[dict[str, Any]]]:
    if task == "news":
        return News, news_items(n, seed=3)
    if task == "contact":
        return Contact, contacts(n, seed=7)
    raise SystemExit(f"unknown task {task!r}: news or contact")


def simulate(task: str, n: int, retrain_every: int, folder: str) -> dict[str, Any]:
    target, docs = documents(task, n)
    loop = extract.Loop(target, extract.Extractor(), folder, retrain_every=retrain_every)
    scorer = Scorer(loop.schema)
    rows: list[dict[str, Any]] = []
    trainings: list[dict[str, float]] = []
    seen_student: _train.Student | None = None
    started = time.perf_counter()
    for i, doc in enumerate(docs):
        result = loop.suggest(doc["text"], doc["id"])
        gold = to_jsonable_python(doc["gold"], by_alias=True)
        answers = {c.member: c.value for c in result.candidates if c.result is not None}
        answers["loop"] = result.value
        answers.setdefault("nearest", answers.get("teacher"))  # no answers yet: no examples
        answers.setdefault("student", answers.get("teacher"))  # no student yet
        answers.setdefault("vote", answers.get("teacher"))  # fewer than two systems
        row: dict[str, Any] = {
            "id": doc["id"],
            "typing": scorer.score(None, gold).total().edits,
            "system": result.system,
            "suggest_s": result.timings["suggest"],
            "training": loop.training,
            "student_answers": 0 if loop.student is None else _train.current(loop.path).answers,  # type: ignore[union-attr]
            "counts": {},
        }
        for system in MADE:
            value = answers.get(system)
            total = scorer.score(
                None if value is None else to_jsonable_python(value, by_alias=True), gold
            ).total()
            row[system] = total.edits
            row["counts"][system] = {**total.to_json(), "changed": total.changed}
        rows.append(row)
        loop.answer(doc["id"], doc["text"], gold)
        info = _train.current(loop.path)
        if info is not None and info != seen_student:
            seen_student = info
            trainings.append({"answers": info.answers, "seconds": info.seconds, "warm": info.warm})
        if (i + 1) % 25 == 0:
            done = {s: sum(r[s] for r in rows) for s in SYSTEMS}
            print(f"{task}: {i + 1}/{n} documents, {time.perf_counter() - started:.0f} s, "
                  f"work so far {done}", file=sys.stderr, flush=True)  # fmt: skip
    if loop.training:
        loop.train(wait=True)
    seconds = time.perf_counter() - started
    last = _train.current(loop.path)
    final = None
    if last is not None:
        hand_written = student_f1(target, last.model, task)
        final = {"answers": last.answers, "warm": last.warm, "f1_hand_written": hand_written}
    loop.close()
    return {"task": task, "documents": n, "retrain_every": retrain_every, "rows": rows,
            "trainings": trainings, "seconds": seconds, "last_student": final}  # fmt: skip


def student_f1(target: Any, model: Any, task: str) -> float:
    """Micro F1 of a student on the task's hand-written corpus (no template wrote it)."""
    from tests.corpus import evaluation_data

    gold, _ = evaluation_data(task)
    report = extract.evaluate(target, gold, {"student": extract.Extractor(f"spacy:{model}")})
    return report.summary("student").micro.f1


def transfer(task: str, n: int, folder: str) -> dict[str, Any]:
    """The loop's last student and its teacher on the project's hand-written corpus of
    the task (other writers, other layouts than the generator's): the student as the
    loop's final training makes it (distill on all ``n`` answers, same settings), the
    teacher alone and with the ``n`` answers as nearest examples, F1 per field."""
    from extract.apps.distill import distill
    from tests.corpus import evaluation_data

    target, docs = documents(task, n)
    data = os.path.join(folder, "answers.jsonl")
    with open(data, "w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(doc) + "\n")
    started = time.perf_counter()
    trained = distill(target, data, os.path.join(folder, "student"), log=lambda line: None)
    seconds = time.perf_counter() - started
    teacher = extract.Extractor()
    pool = [(d["text"], d["gold"]) for d in docs]
    gold, _ = evaluation_data(task)  # every document: none is shown as a shot here
    report = extract.evaluate(
        target,
        gold,
        {
            "teacher": teacher,
            "nearest": (teacher, {"examples": extract.Nearest(pool, 3)}),
            "student": extract.Extractor(f"spacy:{trained.model}"),
        },
    )
    out: dict[str, Any] = {"task": task, "documents": len(gold), "train_seconds": seconds}
    for name in ("teacher", "nearest", "student"):
        system = report.summary(name)
        out[name] = {"f1": system.micro.f1, "fields": {p: c.f1 for p, c in system.fields.items()}}
    return out


def warm_start(task: str, sizes: list[int], folder: str) -> dict[str, Any]:
    """Blank and warm-started chains of students, timed and scored (see the module)."""
    from extract.apps.distill import distill
    from tests.corpus import evaluation_data

    target, docs = documents(task, 300)
    held = docs[200:300]
    written, _ = evaluation_data(task)
    scorer = Scorer(dict(compile_target(target).json_schema))

    def f1(model: Any, items: list[tuple[str, Any]]) -> float:
        student, counts = extract.Extractor(f"spacy:{model}"), Counts()
        for text, gold in items:
            try:
                value = to_jsonable_python(student.run(target, text).value, by_alias=True)
            except extract.ExtractError:  # no valid record: every gold value is missed
                value = None
            counts.add(scorer.score(value, to_jsonable_python(gold, by_alias=True)).total())
        return counts.f1

    generated = [(d["text"], d["gold"]) for d in held]
    hand = [(text, gold) for _, text, gold in written]
    rows: list[dict[str, Any]] = []
    previous: Any = None
    for n in sizes:
        data = os.path.join(folder, f"answers-{n}.jsonl")
        with open(data, "w", encoding="utf-8") as f:
            for doc in docs[:n]:
                gold = to_jsonable_python(doc["gold"], by_alias=True)
                f.write(json.dumps({"id": doc["id"], "text": doc["text"], "gold": gold}) + "\n")
        row: dict[str, Any] = {"answers": n}
        for chain in ("blank", "warm"):
            start = previous if chain == "warm" else None
            out = os.path.join(folder, f"{chain}-{n}")
            trained = distill(target, data, out, max_epochs=30, log=lambda line: None,
                              warm_from=start).trained  # fmt: skip
            row[chain] = {"seconds": trained.seconds, "warm": trained.warm,
                          "f1_201_300": f1(trained.model, generated),
                          "f1_hand_written": f1(trained.model, hand)}  # fmt: skip
            if chain == "warm":
                previous = trained.model
        print(f"{task} {n} answers: {row}", file=sys.stderr, flush=True)
        rows.append(row)
    return {"task": task, "rows": rows}


def summary(run: dict[str, Any], block: int = 50) -> dict[str, Any]:
    rows = run["rows"]
    present = [k for k in SYSTEMS if k in rows[0]]  # runs before the vote have none
    blocks = []
    for start in range(0, len(rows), block):
        part = rows[start : start + block]
        entry: dict[str, Any] = {"documents": f"{start + 1}-{start + len(part)}"}
        for system in present:
            entry[system] = sum(r[system] for r in part)
        for system in present[1:]:
            counts = Counts()
            for r in part:
                c = r["counts"][system]
                counts.add(Counts(c["tp"], c["fp"], c["fn"], c["changed"]))
            entry[f"f1_{system}"] = counts.f1
        blocks.append(entry)
    late = rows[200:300]
    busy = [r["suggest_s"] for r in rows if r["training"]]
    idle = [r["suggest_s"] for r in rows if not r["training"]]
    return {
        "task": run["task"],
        "systems": present,
        "blocks": blocks,
        "work_201_300": {s: sum(r[s] for r in late) for s in present} if len(rows) >= 300 else None,
        "retrain_seconds": [t["seconds"] for t in run["trainings"]],
        "retrain_answers": [t["answers"] for t in run["trainings"]],
        "suggest_median_s": {
            "training": statistics.median(busy) if busy else None,
            "idle": statistics.median(idle) if idle else None,
            "while_training": len(busy),
        },
        "systems_used": dict(Counter(r["system"] for r in rows)),
        "last_student": run.get("last_student"),
    }


def render(summaries: list[dict[str, Any]]) -> str:
    lines = []
    for s in summaries:
        lines.append(f"\n{s['task']}: work per block (leaf values added, deleted or changed)")
        present = s.get("systems", SYSTEMS)
        lines.append("| documents | " + " | ".join(present) + " | "
                     + " | ".join(f"F1 {k}" for k in present[1:]) + " |")  # fmt: skip
        lines.append("|---" * (2 * len(present)) + "|")
        for b in s["blocks"]:
            work = " | ".join(str(b[k]) for k in present)
            f1 = " | ".join(f"{b['f1_' + k]:.3f}" for k in present[1:])
            lines.append(f"| {b['documents']} | {work} | {f1} |")
        late = s["work_201_300"]
        if late:
            ratio = {k: v / late["teacher"] for k, v in late.items() if late["teacher"]}
            lines.append("documents 201-300, work relative to the teacher alone: "
                         + ", ".join(f"{k} {v:.2f}" for k, v in ratio.items()))  # fmt: skip
        seconds = s["retrain_seconds"]
        if seconds:
            median, longest = statistics.median(seconds), max(seconds)
            lines.append(f"retrainings: {len(seconds)}, on {s['retrain_answers']} answers; wall "
                         f"time median {median:.1f} s, max {longest:.1f} s")  # fmt: skip
        wait = s["suggest_median_s"]
        lines.append(f"suggest, median s: {wait['idle']} idle, {wait['training']} while a "
                     f"training ran ({wait['while_training']} suggestions)")  # fmt: skip
        lines.append(f"systems used: {s['systems_used']}")
        if s.get("last_student"):
            lines.append(f"the last student: {s['last_student']}")
    return "\n".join(lines)


def plot(runs: list[dict[str, Any]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(runs), figsize=(6 * len(runs), 4.2), squeeze=False)
    names = {"typing": "typing everything", "teacher": "teacher", "nearest": "teacher + nearest",
             "student": "student", "vote": "vote", "loop": "the loop"}  # fmt: skip
    for ax, run in zip(axes[0], runs, strict=True):
        for system in [k for k in SYSTEMS if k in run["rows"][0]]:
            total, curve = 0, []
            for r in run["rows"]:
                total += r[system]
                curve.append(total)
            ax.plot(range(1, len(curve) + 1), curve, label=names[system], color=COLOURS[system])
        older = "" if "vote" in run["rows"][0] else " (a run before the vote and warm starts)"
        ax.set_title(f"{run['task']}: cumulative review work{older}", fontsize=10)
        ax.set_xlabel("documents reviewed")
        ax.set_ylabel("leaf values added, deleted or changed")
        ax.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="news,contact")
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--retrain-every", type=int, default=20)
    parser.add_argument("--json", help="write the runs and their summaries here")
    parser.add_argument("--plot", help="draw the cumulative work curves into this PNG")
    parser.add_argument(
        "--from-json", help="comma-separated --json files of earlier runs: table and plot only"
    )
    parser.add_argument(
        "--transfer",
        action="store_true",
        help="only score the last student and the teacher on the hand-written corpus",
    )
    parser.add_argument(
        "--warm-start",
        action="store_true",
        help="only compare retraining from blank and from the previous student",
    )
    args = parser.parse_args()
    if args.warm_start:
        sizes = list(range(20, min(args.documents, 200) + 1, 20))
        results = []
        for task in args.tasks.split(","):
            with tempfile.TemporaryDirectory(prefix=f"warm-{task}-") as folder:
                results.append(warm_start(task, sizes, folder))
        for r in results:
            print(f"\n{r['task']}: | answers | seconds blank / warm | F1 201-300 blank / warm "
                  "| F1 hand-written blank / warm |")  # fmt: skip
            for row in r["rows"]:
                b, w = row["blank"], row["warm"]
                print(f"| {row['answers']} | {b['seconds']:.1f} / {w['seconds']:.1f} | "
                      f"{b['f1_201_300']:.3f} / {w['f1_201_300']:.3f} | "
                      f"{b['f1_hand_written']:.3f} / {w['f1_hand_written']:.3f} |")  # fmt: skip
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(results, f, indent=1)
        return 0
    if args.transfer:
        results = []
        for task in args.tasks.split(","):
            with tempfile.TemporaryDirectory(prefix=f"transfer-{task}-") as folder:
                results.append(transfer(task, args.documents, folder))
        for r in results:
            print(f"{r['task']} corpus ({r['documents']} documents), F1: teacher "
                  f"{r['teacher']['f1']:.3f}, teacher + nearest {r['nearest']['f1']:.3f}, "
                  f"student {r['student']['f1']:.3f}")  # fmt: skip
            for path in r["teacher"]["fields"]:
                f1s = [
                    r[name]["fields"].get(path, 0.0) for name in ("teacher", "nearest", "student")
                ]
                print(f"  {path}: " + " / ".join(f"{f:.3f}" for f in f1s))
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(results, f, indent=1)
        return 0
    runs = []
    if args.from_json:
        for path in args.from_json.split(","):
            with open(path, encoding="utf-8") as f:
                runs += json.load(f)["runs"]
    for task in [] if args.from_json else args.tasks.split(","):
        with tempfile.TemporaryDirectory(prefix=f"loop-{task}-") as folder:
            runs.append(simulate(task, args.documents, args.retrain_every, folder))
    summaries = [summary(run) for run in runs]
    print(render(summaries))
    if args.json and not args.from_json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"summaries": summaries, "runs": runs}, f, indent=1)
    if args.plot:
        plot(runs, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
