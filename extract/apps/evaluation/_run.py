"""``evaluate``: systems over gold documents, interleaved, every run scored."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from extract.api._extractor import default_extractor
from extract.api._verbs import Verbs
from extract.apps._targets import load_target
from extract.core._errors import UsageError
from extract.core._loop import Options
from extract.core._options import compile_target, parse_options
from extract.core._result import Result, changed_retries
from extract.core._runner import Job
from extract.features.batch import Outcome, ProgressDisplay, Tally
from extract.schemas import CompiledSchema

from ._dataset import as_dataset
from ._matchers import Matcher
from ._report import DocumentRun, EvalReport
from ._score import Scorer


def evaluate(
    target: Any,
    data: Any,
    systems: Any = None,
    *,
    matchers: Mapping[str, str | Matcher] | None = None,
    tolerance: float = 1e-6,
    repeat: int = 1,
    extractor: Verbs | None = None,
    progress: bool = False,
    **options: Any,
) -> EvalReport:
    """Runs ``systems`` over the gold ``data`` and scores every record field by field.

    ``data``: a ``Dataset``, a JSON Lines path (``{"id", "text", "gold"}`` lines), a
    table with those columns (a pandas or polars DataFrame, a ``datasets.Dataset``; see
    ``Dataset.from_frame``) or an iterable of ``(id, text, gold)``. ``systems``: an
    ``Extractor``, or a mapping of names to extractors, to option dicts
    (``instructions``, ``examples``, ``temperature``...) run on ``extractor`` (default:
    the embedded model), or to ``(extractor, options)`` pairs; None: the default
    extractor. Options may name a ``target`` of the same shape for one system (a model
    with ``Quote`` fields against the same model with ``str``): it extracts that, and is
    scored like the others.
    Documents are run in turn by every system (interleaved, so load on the machine
    falls on all alike), ``repeat`` times; a run that raises is scored as an empty
    record and its error kept. ``options`` go to every run (``max_retries``...).
    ``matchers``/``tolerance``: see ``Scorer``.
    """
    if not isinstance(repeat, int) or repeat < 1:
        raise UsageError(f"repeat must be an int >= 1, not {repeat!r}")
    dataset = as_dataset(data, target)
    if not len(dataset):
        raise UsageError("the gold data has no documents to score")
    compiled = compile_target(target)
    scorer = Scorer(compiled.json_schema, matchers, tolerance)
    plan = _systems(target, systems, extractor, options)
    report = EvalReport(_name(target), list(plan), [], repeat, dataset.left_out)
    for name, system in plan.items():
        shown = {text for text, _ in system.options.examples}
        seen = sum(doc.text in shown for doc in dataset)
        if seen:  # the model is shown the answer: its score says nothing about new text
            report.notes.append(f"{name}: {seen} scored documents are also its examples")
    tally = Tally(total=len(dataset) * len(plan) * repeat)
    with ProgressDisplay(tally, quiet=not progress) as tick:
        for k in range(repeat):
            for doc in dataset:
                gold = dataset.as_json(doc.gold)
                for name, system in plan.items():
                    started = time.perf_counter()
                    try:
                        job = Job(system.target, system.compiled, doc.text, system.options)
                        result = system.extractor.runner.run(job)
                    except Exception as exc:  # scored as a failure, the run goes on
                        outcome = Outcome.of_exception(doc.id, exc, time.perf_counter() - started)
                        run = _failed_run(outcome, exc, name, k, gold, scorer)
                    else:
                        outcome = Outcome(doc.id, result, seconds=time.perf_counter() - started)
                        prediction = system.as_json(result.value)
                        run = _scored_run(outcome, result, name, k, prediction, gold, scorer)
                    report.documents.append(run)
                    tally.add(outcome)
                    tick()
    if progress:
        print(tally.summary(), file=sys.stderr)
    return report


def _scored_run(
    outcome: Outcome[Any], result: Result[Any], system: str, k: int, prediction: Any,
    gold: Any, scorer: Scorer,
) -> DocumentRun:  # fmt: skip
    return DocumentRun(
        outcome.id, system, k, prediction, gold, scorer.score(prediction, gold),
        attempts=len(result.attempts), changed_retries=result.changed_retries,
        retries=result.retries,
        prompt_tokens=result.usage.prompt_tokens,
        completion_tokens=result.usage.completion_tokens, seconds=outcome.seconds,
        confidence=result.confidence, confidence_source=result.confidence_source,
    )  # fmt: skip


def _failed_run(
    outcome: Outcome[Any], exc: BaseException, system: str, k: int, gold: Any, scorer: Scorer
) -> DocumentRun:
    """An empty record, scored; an ExtractionError keeps what its attempts spent."""
    spent = getattr(exc, "usage", None)
    return DocumentRun(
        outcome.id, system, k, None, gold, scorer.score(None, gold), outcome.error_type,
        outcome.message, attempts=len(getattr(exc, "attempts", ())),
        changed_retries=changed_retries(getattr(exc, "attempts", ())),
        prompt_tokens=getattr(spent, "prompt_tokens", 0),
        completion_tokens=getattr(spent, "completion_tokens", 0), seconds=outcome.seconds,
    )  # fmt: skip


@dataclass
class _System:
    """One system of an evaluation: its extractor, options and target (the evaluated
    target unless its options name another of the same shape, e.g. with ``Quote``)."""

    extractor: Verbs
    options: Options
    target: Any
    compiled: CompiledSchema

    @functools.cached_property
    def _adapter(self) -> TypeAdapter[Any] | None:
        return None if isinstance(self.target, dict) else TypeAdapter(self.target)

    def as_json(self, value: Any) -> Any:
        if self._adapter is None:
            return value
        return self._adapter.dump_python(value, mode="json", by_alias=True)


def _systems(
    target: Any, systems: Any, extractor: Verbs | None, common: dict[str, Any]
) -> dict[str, _System]:
    """name -> system; every option checked before any run."""
    if systems is None:
        systems = {"default": extractor or default_extractor()}
    elif isinstance(systems, Verbs):
        systems = {systems.name: systems}
    if not isinstance(systems, Mapping) or not systems:
        raise UsageError("systems must be an Extractor or a non-empty mapping of names to "
                         "extractors or option dicts")  # fmt: skip
    plan = {}
    for name, system in systems.items():
        if isinstance(system, Verbs):
            system = (system, {})
        elif isinstance(system, Mapping):
            system = (extractor or default_extractor(), system)
        if not (
            isinstance(system, tuple)
            and len(system) == 2
            and isinstance(system[0], Verbs)
            and isinstance(system[1], Mapping)
        ):
            raise UsageError(
                f"system {name!r}: an Extractor, an option dict or (Extractor, options), "
                f"not {system!r}"
            )
        options = {**common, **system[1]}
        own = options.pop("target", target)
        if isinstance(own, str):
            own = load_target(own)
        compiled = compile_target(own)
        plan[str(name)] = _System(system[0], parse_options(own, options), own, compiled)
    return plan


def _name(target: Any) -> str:
    if isinstance(target, type):
        return target.__name__
    if isinstance(target, dict):
        return str(target.get("title", "schema"))
    return str(target)
