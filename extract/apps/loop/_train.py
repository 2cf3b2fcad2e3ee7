"""Retraining the loop's student in a process of its own.

``start(folder)`` runs ``main`` in a new interpreter, which reads the answers, trains a student
with ``extract.distill`` (spaCy's trainer) in a scratch folder, moves it into
``students/`` and then points ``student.json`` at it, each step an atomic rename: a
training that dies (an error, ``kill -9``) leaves the previous student in place and
its scratch folder is removed by the next one. A process, not a thread, so that
training never holds the interpreter lock the page and ``suggest`` need, and a crash
in the trainer cannot take them down. ``train.lock`` (``flock``) lets one training run
per loop folder, whichever process started it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ._store import Store

POINTER = "student.json"
SETTINGS = "train.json"
BUSY = 75  # exit status: another training holds the lock
# Not ``-m``: the package imports this module first, which runpy warns about.
_ENTRY = "import sys; from extract.apps.loop._train import main; sys.exit(main(sys.argv[1:]))"


@dataclass(frozen=True)
class Student:
    """The student ``student.json`` points at."""

    model: Path
    answers: int  # trained on this many answers
    seconds: float  # the training's wall time
    at: float
    warm: bool = False  # started from the student before it


def current(folder: Path) -> Student | None:
    try:
        data = json.loads((folder / POINTER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return Student(
        folder / data["model"],
        data["answers"],
        data["seconds"],
        data["at"],
        data.get("warm", False),
    )


def start(folder: Path) -> subprocess.Popen[bytes]:
    """A training of the loop in ``folder``, running in the background; its output is
    appended to ``train.log``."""
    with open(folder / "train.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-c", _ENTRY, str(folder)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    with open(folder / "train.lock", "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("another training of this loop is running", flush=True)
            return BUSY
        return _train(folder, sys.stdout)


def _train(folder: Path, log: IO[str]) -> int:
    from extract.apps.distill import distill

    settings: dict[str, Any] = json.loads((folder / SETTINGS).read_text(encoding="utf-8"))
    schema = json.loads((folder / "schema.json").read_text(encoding="utf-8"))
    students = folder / "students"
    students.mkdir(exist_ok=True)
    for stale in students.glob(".training-*"):  # left by a training that died
        shutil.rmtree(stale, ignore_errors=True)
    store = Store(folder / "loop.sqlite")
    try:
        answers = store.answers()
    finally:
        store.close()
    work = students / f".training-{os.getpid()}"
    work.mkdir()
    data = work / "answers.jsonl"
    with open(data, "w", encoding="utf-8") as f:
        for a in answers:
            row: dict[str, Any] = {"id": a.id, "text": a.text, "gold": a.value}
            if a.spans:
                row["spans"] = {p: list(s) for p, s in a.spans.items()}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} training on {len(answers)} answers", file=log)
    started = time.perf_counter()
    previous = current(folder)
    warm_from = previous.model if previous and settings.get("warm_start") else None
    distilled = distill(
        schema,
        data,
        work / "model",
        lang=settings.get("lang", "en"),
        max_epochs=settings.get("max_epochs", 30),
        log=lambda line: print(line, file=log, flush=True),
        warm_from=warm_from,
    )
    seconds = time.perf_counter() - started
    name = f"{len(answers):06d}-{time.time_ns()}"
    os.replace(work, students / name)
    model = students / name / distilled.model.relative_to(work)
    pointer = {
        "model": str(model.relative_to(folder)),
        "answers": len(answers),
        "seconds": seconds,
        "at": time.time(),
        "warm": distilled.trained.warm,
    }
    scratch = folder / f".{POINTER}.{os.getpid()}"
    scratch.write_text(json.dumps(pointer), encoding="utf-8")
    os.replace(scratch, folder / POINTER)
    keep = {name} | ({previous.model.relative_to(students).parts[0]} if previous else set())
    for old in students.iterdir():  # the current and the previous student stay
        if old.name not in keep and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)
    start = "from the previous student" if distilled.trained.warm else "from blank"
    print(f"trained {start} in {seconds:.1f} s: {pointer['model']}", file=log, flush=True)
    return 0
