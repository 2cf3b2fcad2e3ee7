"""The ensemble's runner: several extractors, or samples of one, per document, voted
field by field. ``extract.Ensemble`` (``extract.api``) puts the verbs on it."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from typing import Any, Protocol

from pydantic import TypeAdapter

from extract.core._errors import BudgetExceededError, ExtractionError, UsageError
from extract.core._options import OPTION_NAMES, parse_options
from extract.core._result import Attempt, Candidate, Result, Usage
from extract.core._runner import Job, Prepare, Runner, aobserved, finished, observed
from extract.schemas import CompiledSchema, Invalid

from ._vote import Ballot, Vote, vote


class Runs(Protocol):
    """What an ensemble member is: something with a runner (an ``extract.Extractor``)."""

    @property
    def name(self) -> str: ...

    @property
    def runner(self) -> Runner: ...


@dataclass(frozen=True)
class Member:
    """One voter: an extractor, its weight in the vote, and options of its own
    (``temperature``, ``seed``, ``prompt``, ``examples``...) over the call's."""

    extractor: Runs
    weight: float = 1.0
    options: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""


class EnsembleRunner:
    """Runs every member on each job and votes their answers into one value (the rules:
    ``extract.Ensemble``). Members whose runner serves one document at a time (a local
    model) run in turn, the others at once."""

    def __init__(
        self, members: tuple[Member, ...], min_support: float, min_similarity: float
    ) -> None:
        self.members = members
        self.min_support = min_support
        self.min_similarity = min_similarity
        self._adapters: dict[int, TypeAdapter[Any]] = {}

    @classmethod
    def of(cls, members: Sequence[Runs | Member], **settings: Any) -> EnsembleRunner:
        """The runner for ``extract.Ensemble(members, **settings)``, every argument
        checked: ``samples``, ``temperature``, ``seed``, ``min_support``,
        ``min_similarity`` (their meaning: ``extract.Ensemble``)."""
        samples = settings.pop("samples", 1)
        temperature = settings.pop("temperature", 0.7)
        seed = settings.pop("seed", 0)
        support = settings.pop("min_support", 0.5)
        similarity = settings.pop("min_similarity", 0.5)
        if settings:
            raise UsageError(f"unknown Ensemble setting(s) {sorted(settings)}")
        if not members:
            raise UsageError("an Ensemble needs at least one member")
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise UsageError(f"samples must be an int >= 1, not {samples!r}")
        if not isinstance(temperature, int | float) or temperature < 0:
            raise UsageError(f"temperature must be a number >= 0, not {temperature!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise UsageError(f"seed must be an int, not {seed!r}")
        for label, share in (("min_support", support), ("min_similarity", similarity)):
            if not isinstance(share, int | float) or not 0 <= share <= 1:
                raise UsageError(f"{label} must be a number from 0 to 1, not {share!r}")
        expanded = _expand([_member(m) for m in members], samples, temperature, seed)
        return cls(expanded, float(support), float(similarity))

    @property
    def name(self) -> str:
        """Every member with its weight and options, and the vote's settings: it keys
        the result cache, so two different ensembles never share an entry."""
        parts = [
            f"{m.name} w={m.weight:g} {json.dumps(dict(m.options), sort_keys=True, default=str)}"
            for m in self.members
        ]
        return (
            f"ensemble[{'; '.join(parts)}; support={self.min_support:g}; "
            f"similarity={self.min_similarity:g}]"
        )

    def __repr__(self) -> str:
        return f"Ensemble({[m.name for m in self.members]!r})"

    @property
    def takes_back(self) -> bool:
        return False  # the voted answer comes whole: nothing is shown before it

    def concurrency(self, requested: int | None) -> int:
        """Documents at once in ``run_many``: what the most limited member serves."""
        return min(m.extractor.runner.concurrency(requested) for m in self.members)

    def limited(self, wrap: Callable[[Any], Any]) -> EnsembleRunner:
        raise UsageError(
            "an Ensemble's run_many takes no rate limit: give each member its own, "
            "Extractor(..., rate_limit=extract.RateLimit(...))"
        )

    def run(self, job: Job, prepare: Prepare | None = None) -> Result[Any]:
        """Every member's answer, voted (``prepare`` is not used: a vote cannot stream)."""
        return observed(self.name, job, self._run)

    async def arun(self, job: Job, prepare: Prepare | None = None) -> Result[Any]:
        return await aobserved(self.name, job, self._arun)

    def _run(self, job: Job) -> Result[Any]:
        target, compiled = job.target, job.compiled
        plans = [self._job(m, job) for m in self.members]
        started = time.perf_counter()

        def one(i: int) -> Result[Any] | Exception:
            try:
                return self.members[i].extractor.runner.run(plans[i])
            except Exception as exc:  # the vote goes on without this member
                return exc

        local, hosted = self._split()
        if not hosted:
            answers = {i: one(i) for i in local}
        else:
            with ThreadPoolExecutor(len(hosted) + 1) as pool:
                in_turn = pool.submit(lambda: {i: one(i) for i in local})
                each = {i: pool.submit(one, i) for i in hosted}
                answers = {**in_turn.result(), **{i: f.result() for i, f in each.items()}}
        _spent_budget(answers)
        combined = self._combine(target, compiled, answers, time.perf_counter() - started)
        return finished(job, combined)

    async def _arun(self, job: Job) -> Result[Any]:
        target, compiled = job.target, job.compiled
        plans = [self._job(m, job) for m in self.members]
        started = time.perf_counter()

        async def one(i: int) -> Result[Any] | Exception:
            try:
                return await self.members[i].extractor.runner.arun(plans[i])
            except Exception as exc:
                return exc

        local, hosted = self._split()

        async def in_turn() -> dict[int, Result[Any] | Exception]:
            return {i: await one(i) for i in local}

        turns, *each = await asyncio.gather(in_turn(), *(one(i) for i in hosted))
        answers = {**turns, **dict(zip(hosted, each, strict=True))}
        _spent_budget(answers)
        combined = self._combine(target, compiled, answers, time.perf_counter() - started)
        return finished(job, combined)

    def _split(self) -> tuple[list[int], list[int]]:
        """Members run in turn (a local model: one at a time per process) and at once."""
        local: list[int] = []
        hosted: list[int] = []
        for i, m in enumerate(self.members):
            one_at_a_time = m.extractor.runner.concurrency(None) == 1
            (local if one_at_a_time else hosted).append(i)
        return local, hosted

    def _job(self, member: Member, job: Job) -> Job:
        """The job with the member's own options over the call's; the members keep
        every value (``min_confidence`` and ``calibration`` apply to the vote).
        Options are parsed again only for a member that has its own."""
        options = job.options
        if member.options:
            given = {f.name: getattr(options, f.name) for f in fields(options)}
            nearest = given.pop("nearest")  # given as examples=, and chosen per document
            if nearest is not None:
                given["examples"] = nearest
            shared = {"budgets": given.pop("budgets"), "prices": given.pop("prices")}
            options = replace(parse_options(job.target, {**given, **member.options}), **shared)
        # The vote is the extraction: its end is told once, by the ensemble.
        if options.min_confidence is not None or options.calibration is not None:
            options = replace(options, min_confidence=None, calibration=None)
        if options.on_result is not None:
            options = replace(options, on_result=None)
        return job if options is job.options else replace(job, options=options)

    def _combine(
        self,
        target: Any,
        compiled: CompiledSchema,
        answers: Mapping[int, Result[Any] | Exception],
        seconds: float,
    ) -> Result[Any]:
        order = sorted(answers)
        candidates = [_candidate(self.members[i].name, answers[i]) for i in order]
        answered = [i for i in order if isinstance(answers[i], Result)]
        attempts, usage = _spent(answers[i] for i in order)
        if not answered:
            raise _all_failed(target, [answers[i] for i in order], candidates, attempts, usage)
        results: list[Result[Any]] = [answers[i] for i in answered]  # type: ignore[misc]
        ballots = [
            Ballot(self._as_json(target, r.value), self.members[i].weight, r.spans)
            for i, r in zip(answered, results, strict=True)
        ]
        failed = len(order) - len(answered)
        voted = vote(
            ballots,
            min_support=self.min_support,
            min_similarity=self.min_similarity,
            abstained=failed,
        )
        value = compiled.validate(json.dumps(voted.value))
        fallback = None
        if isinstance(value, Invalid):
            lead = self._most_agreed(ballots)
            shown = "; ".join(value.errors[:3])
            voted = vote(ballots, lead=lead, min_similarity=self.min_similarity, abstained=failed)
            value = results[lead].value
            fallback = (
                f"the voted value did not validate ({shown}); used the answer of "
                f"{self.members[answered[lead]].name}, which the members agree with most "
                f"(mean confidence {voted.agreement:.2f})"
            )
        spans, alignment = _spans_from(voted, results)
        timings: dict[str, float] = {}
        for r in results:
            for key, spent in r.timings.items():
                timings[key] = timings.get(key, 0.0) + spent
        timings["ensemble_s"] = seconds  # wall time; the others are summed over members
        return Result(
            value=value, raw=json.dumps(voted.value), attempts=attempts, usage=usage,
            report=compiled.report, timings=timings, model=self.name, spans=spans,
            alignment=alignment, confidence=voted.confidence, confidence_source="agreement",
            candidates=candidates,
            fallback=fallback,
        )  # fmt: skip

    def _most_agreed(self, ballots: list[Ballot]) -> int:
        """The answer the members agree with most; ties: the heavier, then the first."""
        best, best_rank = 0, (-math.inf, -math.inf)
        for j, ballot in enumerate(ballots):
            agreement = vote(ballots, lead=j, min_similarity=self.min_similarity).agreement
            rank = (agreement, ballot.weight)
            if rank > best_rank:
                best, best_rank = j, rank
        return best

    def _as_json(self, target: Any, value: Any) -> Any:
        if isinstance(target, dict):
            return value
        adapter = self._adapters.get(id(target))
        if adapter is None:
            adapter = self._adapters[id(target)] = TypeAdapter(target)
        return adapter.dump_python(value, mode="json", by_alias=True)


def _is_member(given: Any) -> bool:
    """An extractor (anything with a runner that runs jobs), as a member may be given."""
    runner = getattr(given, "runner", None)
    return callable(getattr(runner, "run", None)) and callable(getattr(runner, "arun", None))


def _member(given: Any) -> Member:
    member = given if isinstance(given, Member) else Member(given)
    if not _is_member(member.extractor):
        raise UsageError(f"an Ensemble member is an Extractor or a Member, not {given!r}")
    if isinstance(member.extractor.runner, EnsembleRunner):
        raise UsageError("an Ensemble's members are Extractors: list the inner members instead")
    weight = member.weight
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
        raise UsageError(f"a member's weight must be a number > 0, not {weight!r}")
    unknown = sorted(set(member.options) - set(OPTION_NAMES))
    if unknown:
        raise UsageError(f"unknown member option(s) {unknown}; known: {list(OPTION_NAMES)}")
    return replace(member, name=member.name or member.extractor.name)


def _expand(
    members: list[Member], samples: int, temperature: float, seed: int
) -> tuple[Member, ...]:
    """Each member ``samples`` times (its own seed each), with names that differ."""
    out = []
    for m in members:
        if samples == 1:
            out.append(m)
            continue
        base = m.options.get("seed", seed)
        for k in range(samples):
            options = {"temperature": temperature, **m.options, "seed": base + k}
            out.append(replace(m, options=options, name=f"{m.name}#{k + 1}"))
    counts: dict[str, int] = {}
    for m in out:
        counts[m.name] = counts.get(m.name, 0) + 1
    if all(n == 1 for n in counts.values()):
        return tuple(out)
    return tuple(
        replace(m, name=f"{m.name} [{i + 1}]") if counts[m.name] > 1 else m
        for i, m in enumerate(out)
    )


def _candidate(name: str, answer: Result[Any] | Exception) -> Candidate:
    if isinstance(answer, Result):
        return Candidate(name, result=answer)
    message = str(answer).strip() or repr(answer)
    attempts = tuple(getattr(answer, "attempts", ()) or ())
    return Candidate(name, error=f"{type(answer).__name__}: {message}", failed_attempts=attempts)


def _spent(answers: Any) -> tuple[list[Attempt], Usage]:
    """Every attempt of every member (failed ones too) and their usage summed."""
    attempts: list[Attempt] = []
    usage = Usage()
    for answer in answers:
        attempts.extend(getattr(answer, "attempts", ()) or ())
        spent = getattr(answer, "usage", None)
        if isinstance(spent, Usage):
            usage = usage + spent
    return attempts, usage


def _all_failed(
    target: Any, failures: list[Any], candidates: list[Candidate], attempts: list[Attempt],
    usage: Usage,
) -> Exception:  # fmt: skip
    if all(isinstance(f, ExtractionError) for f in failures) and attempts:
        error: Exception = ExtractionError(failures[0].target, attempts, usage)
    else:
        error = failures[0]
    error.add_note(
        "every ensemble member failed:\n"
        + "\n".join(f"  {c.member}: {c.error}" for c in candidates)
    )
    return error


def _spans_from(
    voted: Vote, results: list[Result[Any]]
) -> tuple[dict[str, tuple[int, int]], dict[str, str]]:
    """The grounded span of each voted value: the first agreeing member's."""
    spans: dict[str, tuple[int, int]] = {}
    alignment: dict[str, str] = {}
    for pointer, sources in voted.sources.items():
        for member, own in sources:
            span = results[member].spans.get(own)
            if span is not None:
                spans[pointer] = span
                if own in results[member].alignment:
                    alignment[pointer] = results[member].alignment[own]
                break
    return spans, alignment


def _spent_budget(answers: Mapping[int, Result[Any] | Exception]) -> None:
    """No member answered and the token budget is why: that is the error, not a vote
    without ballots."""
    if any(isinstance(a, Result) for a in answers.values()):
        return
    for answer in answers.values():
        if isinstance(answer, BudgetExceededError):
            raise answer
