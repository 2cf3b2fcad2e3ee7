"""An evaluation's results: every system's run on every document, and the figures
computed from them (so a saved report recomputes to the same figures)."""

from __future__ import annotations

import io
import json
import os
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.markup import escape

from extract.core._errors import UsageError
from extract.schemas import field_pattern, value_at

from ._calibration import Pair, auroc, coverage_at, ece, reliability
from ._html import to_html
from ._score import Counts, DocumentScore


@dataclass
class DocumentRun:
    """One system on one document (in one repeat)."""

    id: str
    system: str
    run: int
    prediction: Any  # JSON; None when no valid record came out
    gold: Any
    score: DocumentScore
    error_type: str | None = None  # the exception's class name, when no record came out
    message: str | None = None
    attempts: int = 0  # model calls (an ensemble's: every member's)
    changed_retries: int = 0  # retries whose answer differed from the attempt before
    retries: int | None = None  # attempts after the first (None: attempts - 1)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    # How sure the system was of each value (``Result.confidence``), per JSON pointer of
    # the prediction, and where that came from ("tokens", "agreement").
    confidence: dict[str, float] = field(default_factory=dict)
    confidence_source: str | None = None

    @property
    def valid(self) -> bool:
        return self.error_type is None

    @property
    def retry_count(self) -> int:
        return max(0, self.attempts - 1) if self.retries is None else self.retries

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "system": self.system,
            "run": self.run,
            "prediction": self.prediction,
            "gold": self.gold,
            "valid": self.valid,
            "error_type": self.error_type,
            "message": self.message,
            "attempts": self.attempts,
            "changed_retries": self.changed_retries,
            "retries": self.retry_count,
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
            },
            "seconds": self.seconds,
            "micro": _prf(self.score.total()),
            "fields": {path: c.to_json() for path, c in sorted(self.score.fields.items())},
            "items": {path: c.to_json() for path, c in sorted(self.score.items.items())},
            **(
                {
                    "confidence": self.confidence,
                    "confidence_source": self.confidence_source,
                    "leaves": self.score.leaves,
                }
                if self.confidence
                else {}
            ),
        }

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> DocumentRun:
        score = DocumentScore(
            {path: Counts(**c) for path, c in row["fields"].items()},
            {path: Counts(**c) for path, c in row.get("items", {}).items()},
            {str(p): bool(right) for p, right in row.get("leaves", {}).items()},
        )
        usage = row.get("usage") or {}
        return cls(
            id=str(row["id"]), system=str(row["system"]), run=int(row.get("run", 0)),
            prediction=row.get("prediction"), gold=row.get("gold"), score=score,
            error_type=row.get("error_type"), message=row.get("message"),
            attempts=int(row.get("attempts", 0)),
            changed_retries=int(row.get("changed_retries", 0)),
            retries=None if row.get("retries") is None else int(row["retries"]),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=float(row.get("seconds", 0.0)),
            confidence={str(p): float(c) for p, c in row.get("confidence", {}).items()},
            confidence_source=row.get("confidence_source"),
        )  # fmt: skip


PRECISION = 0.9  # the precision "coverage" is reported at


def _calibrated(pairs: list[Pair], precision: float) -> dict[str, Any]:
    right = sum(1 for _, r in pairs if r)
    return {
        "values": len(pairs),
        "accuracy": right / len(pairs),
        "auroc": auroc(pairs),
        "ece": ece(pairs),
        f"coverage_at_{precision:g}": coverage_at(pairs, precision),
    }


def _confidence_table(calibrated: Mapping[str, Mapping[str, Any]]) -> Any:
    """Per system, then per field: how well its confidences tell right from wrong."""
    from rich.table import Table

    coverage = f"coverage_at_{PRECISION:g}"
    table = Table(
        title="Confidence: right values ranked above wrong ones (AUROC), calibration "
        f"error, share keepable at precision {PRECISION:g}"
    )
    for column in ("system / field", "source", "values", "right", "AUROC", "ECE", "coverage"):
        table.add_column(
            column, justify="left" if column in ("system / field", "source") else "right"
        )

    def cells(figures: Mapping[str, Any]) -> list[str]:
        return [
            str(figures["values"]),
            f"{figures['accuracy']:.0%}",
            "-" if figures["auroc"] is None else f"{figures['auroc']:.3f}",
            f"{figures['ece']:.3f}",
            f"{figures[coverage]:.0%}",
        ]

    for name, c in calibrated.items():
        table.add_row(escape(name), c["source"], *cells(c))
        for path, figures in c["fields"].items():
            table.add_row(escape(f"  {path}"), "", *cells(figures))
    return table


def _prf(counts: Counts) -> dict[str, float]:
    return {"precision": counts.precision, "recall": counts.recall, "f1": counts.f1}


def _pooled(runs: Iterable[DocumentRun], part: str) -> dict[str, Counts]:
    out: dict[str, Counts] = {}
    for run in runs:
        for path, counts in getattr(run.score, part).items():
            out.setdefault(path, Counts()).add(counts)
    return dict(sorted(out.items()))


@dataclass
class SystemSummary:
    """The figures of one system, from its document runs."""

    name: str
    runs: list[DocumentRun]
    repeat: int

    @property
    def fields(self) -> dict[str, Counts]:
        return _pooled(self.runs, "fields")

    @property
    def items(self) -> dict[str, Counts]:
        return _pooled(self.runs, "items")

    @property
    def micro(self) -> Counts:
        total = Counts()
        for counts in self.fields.values():
            total.add(counts)
        return total

    def run_f1(self) -> list[float]:
        """Micro F1 of each repeat."""
        out = []
        for k in range(self.repeat):
            total = Counts()
            for run in self.runs:
                if run.run == k:
                    total.add(run.score.total())
            out.append(total.f1)
        return out

    def to_json(self) -> dict[str, Any]:
        fields = self.fields
        n = max(1, len(self.runs))
        seconds = sum(r.seconds for r in self.runs)
        per_run = self.run_f1()

        def scored(counts: Counts) -> dict[str, float]:
            return {**_prf(counts), "support": counts.support // max(1, self.repeat)}

        return {
            "micro": _prf(self.micro),
            "macro_f1": statistics.fmean(c.f1 for c in fields.values()) if fields else 1.0,
            # Over repeats: the mean and the population spread of each run's micro F1.
            "spread": {
                "mean_f1": statistics.fmean(per_run) if per_run else 0.0,
                "f1": statistics.pstdev(per_run) if len(per_run) > 1 else 0.0,
            },
            "runs": per_run,
            "fields": {path: scored(c) for path, c in fields.items()},
            "items": {path: scored(c) for path, c in self.items.items()},
            "documents": len(self.runs) // max(1, self.repeat),
            "valid": sum(r.valid for r in self.runs) / n,
            "errors": dict(Counter(r.error_type for r in self.runs if r.error_type)),
            "records_per_s": len(self.runs) / seconds if seconds > 0 else 0.0,
            "attempts_per_record": sum(r.attempts for r in self.runs) / n,
            # Retries (attempts after the first) and how many of them changed the answer.
            "retries": sum(r.retry_count for r in self.runs),
            "changed_retries": sum(r.changed_retries for r in self.runs),
            "tokens_per_record": sum(r.prompt_tokens + r.completion_tokens for r in self.runs) / n,
            **({"by_confidence": by_confidence} if (by_confidence := self.by_confidence()) else {}),
            **({"calibration": calibrated} if (calibrated := self.calibration()) else {}),
        }

    def confidence_pairs(self) -> dict[str, list[Pair]]:
        """Per field (``/items/*/name``): ``(confidence, right)`` for every predicted
        value (a leaf, not null) the system gave a confidence for."""
        pairs: dict[str, list[Pair]] = {}
        for run in self.runs:
            for pointer, right in run.score.leaves.items():
                sure = run.confidence.get(pointer)
                if sure is None or value_at(run.prediction, pointer)[1] is None:
                    continue
                pairs.setdefault(field_pattern(pointer), []).append((sure, right))
        return dict(sorted(pairs.items()))

    def calibration(self, precision: float = PRECISION) -> dict[str, Any]:
        """How well the confidences tell right values from wrong (``_calibration``):
        over all values and per field; empty when the system gave none."""
        by_field = self.confidence_pairs()
        every = [pair for pairs in by_field.values() for pair in pairs]
        if not every:
            return {}
        sources = {r.confidence_source for r in self.runs if r.confidence}
        return {
            "source": "/".join(sorted(s or "unknown" for s in sources)),
            **_calibrated(every, precision),
            "reliability": [b.to_json() for b in reliability(every)],
            "fields": {name: _calibrated(pairs, precision) for name, pairs in by_field.items()},
        }

    def by_confidence(self) -> dict[str, dict[str, float]]:
        """How often a predicted value (a leaf, not null) is right, for values all
        members agreed on (``"unanimous"``) and the rest (``"split"``); empty without
        an ensemble."""
        tallies = {"unanimous": [0, 0], "split": [0, 0]}
        for run in self.runs:
            if run.confidence_source not in (None, "agreement"):
                continue  # token probabilities are never "unanimous"
            for pointer, right in run.score.leaves.items():
                share = run.confidence.get(pointer)
                if share is None or value_at(run.prediction, pointer)[1] is None:
                    continue
                tally = tallies["unanimous" if share >= 1.0 - 1e-9 else "split"]
                tally[0] += 1
                tally[1] += right
        if not any(n for n, _ in tallies.values()):
            return {}
        return {
            bucket: {"values": n, "right": r, "accuracy": r / n if n else 0.0}
            for bucket, (n, r) in tallies.items()
        }


@dataclass
class EvalReport:
    """Every run and the figures: ``to_json()``, ``render()`` (the terminal tables),
    ``to_html()``, ``compare(baseline)``."""

    target: str
    systems: list[str]
    documents: list[DocumentRun]
    repeat: int = 1
    left_out: int = 0  # review lines answered reject/skip, and documents used as examples
    notes: list[str] = field(default_factory=list)

    def summary(self, system: str) -> SystemSummary:
        if system not in self.systems:
            raise UsageError(f"no system {system!r} in this report; it has {self.systems}")
        runs = [d for d in self.documents if d.system == system]
        return SystemSummary(system, runs, self.repeat)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "repeat": self.repeat,
            "left_out": self.left_out,
            "notes": self.notes,
            "systems": {name: self.summary(name).to_json() for name in self.systems},
            "documents": [d.to_json() for d in self.documents],
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, ensure_ascii=False, indent=1)
            f.write("\n")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EvalReport:
        """A saved report; its figures are recomputed from the document runs."""
        try:
            return cls(
                target=str(data["target"]),
                systems=list(data["systems"]),
                documents=[DocumentRun.from_json(d) for d in data["documents"]],
                repeat=int(data.get("repeat", 1)),
                left_out=int(data.get("left_out", 0)),
                notes=list(data.get("notes", [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"not an evaluation report: {exc!r}") from exc

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EvalReport:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the report {os.fspath(path)}: {exc}") from exc
        return cls.from_json(data)

    # -- the terminal ----------------------------------------------------------------

    def tables(self) -> list[Any]:
        """rich tables: the systems side by side, then F1 per field."""
        from rich.table import Table

        figures = {name: self.summary(name).to_json() for name in self.systems}
        overview = Table(title=f"{self.target}: {figures[self.systems[0]]['documents']} documents"
                         + (f" x {self.repeat} runs" if self.repeat > 1 else ""))  # fmt: skip
        for column in ("system", "valid", "precision", "recall", "F1", "macro F1", "records/s",
                       "attempts", "tokens"):  # fmt: skip
            overview.add_column(column, justify="left" if column == "system" else "right")
        for name, s in figures.items():
            f1 = f"{s['micro']['f1']:.3f}"
            if self.repeat > 1:  # the mean of the runs' F1, and their spread
                f1 = f"{s['spread']['mean_f1']:.3f} ±{s['spread']['f1']:.3f}"
            overview.add_row(
                escape(name), f"{s['valid']:.0%}", f"{s['micro']['precision']:.3f}",
                f"{s['micro']['recall']:.3f}", f1,
                f"{s['macro_f1']:.3f}", f"{s['records_per_s']:.2f}",
                f"{s['attempts_per_record']:.2f}", f"{s['tokens_per_record']:.0f}",
            )  # fmt: skip
        per_field = Table(title="F1 per field (support: gold values)")
        per_field.add_column("field")
        per_field.add_column("support", justify="right")
        for name in self.systems:
            per_field.add_column(escape(name), justify="right")
        paths = sorted({p for s in figures.values() for p in (*s["fields"], *s["items"])})
        for path in paths:
            cells, support = [], 0
            for s in figures.values():
                entry = s["fields"].get(path) or s["items"].get(path)
                cells.append("" if entry is None else f"{entry['f1']:.3f}")
                support = max(support, entry["support"] if entry else 0)
            label = f"{path} (items)" if any(path in s["items"] for s in figures.values()) else path
            per_field.add_row(escape(label), str(support), *cells)
        tables = [overview, per_field]
        split = {name: s["by_confidence"] for name, s in figures.items() if "by_confidence" in s}
        if split:
            agreeing = Table(title="Values right, by agreement (ensembles)")
            for column in ("system", "unanimous", "accuracy", "split", "accuracy"):
                agreeing.add_column(column, justify="left" if column == "system" else "right")
            for name, b in split.items():
                u, d = b["unanimous"], b["split"]
                agreeing.add_row(
                    escape(name), str(u["values"]), f"{u['accuracy']:.3f}", str(d["values"]),
                    f"{d['accuracy']:.3f}",
                )  # fmt: skip
            tables.append(agreeing)
        calibrated = {name: s["calibration"] for name, s in figures.items() if "calibration" in s}
        if calibrated:
            tables.append(_confidence_table(calibrated))
        return tables

    def render(self, width: int = 100) -> str:
        """The tables as plain text."""
        from rich.console import Console

        out = io.StringIO()
        console = Console(file=out, width=width, force_terminal=False, color_system=None)
        for table in self.tables():
            console.print(table)
        for note in self.notes + self._failures():
            console.print(escape(note))
        return out.getvalue()

    def to_html(self) -> str:
        """One self-contained page (no script, nothing fetched)."""
        return to_html(self.to_json())

    def _failures(self) -> list[str]:
        """A system with no valid record scores precision 1.0 (it invented nothing):
        say why instead of letting the figure stand alone."""
        out = []
        for name in self.systems:
            runs = [d for d in self.documents if d.system == name]
            kinds = Counter(d.error_type for d in runs if d.error_type)
            if runs and sum(kinds.values()) == len(runs):
                kind, n = kinds.most_common(1)[0]
                out.append(f"{name}: no run gave a record ({n} {kind}, e.g. {runs[0].message})")
        return out

    def compare(self, baseline: EvalReport) -> str:
        """Micro and per-field F1 against ``baseline``, for the systems both have."""
        from rich.console import Console
        from rich.table import Table

        notes = []
        now_ids = {d.id for d in self.documents}
        then_ids = {d.id for d in baseline.documents}
        if now_ids != then_ids:
            new, gone_ids, both = now_ids - then_ids, then_ids - now_ids, now_ids & then_ids
            notes.append(
                f"the documents differ: {len(new)} new, {len(gone_ids)} gone, {len(both)} in both"
            )
        shared = [name for name in self.systems if name in baseline.systems]
        if not shared:
            return f"no system in common with the baseline (it has {baseline.systems})\n"
        table = Table(title="F1 against the baseline")
        gone: set[str] = set()
        table.add_column("system / field")
        for column in ("baseline", "now", "change"):
            table.add_column(column, justify="right")
        for name in shared:
            now, before = self.summary(name).to_json(), baseline.summary(name).to_json()
            rows = [(name, before["micro"]["f1"], now["micro"]["f1"])]
            for path in sorted(set(now["fields"]) & set(before["fields"])):
                rows.append((f"  {path}", before["fields"][path]["f1"], now["fields"][path]["f1"]))
            gone |= set(now["fields"]) ^ set(before["fields"])
            for label, old, new in rows:
                table.add_row(escape(label), f"{old:.3f}", f"{new:.3f}", f"{new - old:+.3f}")
        if gone:
            notes.append(f"fields in only one of the two: {', '.join(sorted(gone))}")
        out = io.StringIO()
        console = Console(file=out, width=100, force_terminal=False, color_system=None)
        console.print(table)
        for note in notes:
            console.print(escape(note))
        return out.getvalue()
