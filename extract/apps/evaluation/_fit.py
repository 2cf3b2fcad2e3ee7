"""Fitting a ``Calibration`` on reviewed values: an evaluation's right and wrong values.

The reviewed records are the gold of an ``EvalReport``; each value a system predicted
with a confidence is one ``(confidence, right)`` pair (``confidence_pairs``).
"""

from __future__ import annotations

from extract.core._calibration import Calibration, fit_knots
from extract.core._errors import UsageError

from ._report import EvalReport

MIN_VALUES = 30  # fewer reviewed values in a field: it uses the pooled map


def fit_calibration(
    report: EvalReport, system: str | None = None, *, min_values: int = MIN_VALUES
) -> Calibration:
    """A per-field calibration of ``system``'s confidences (the report's only system
    when there is one) from its right and wrong values in ``report``."""
    if system is None:
        if len(report.systems) != 1:
            raise UsageError(f"name the system to calibrate, one of {report.systems}")
        system = report.systems[0]
    summary = report.summary(system)
    by_field = summary.confidence_pairs()
    every = [pair for pairs in by_field.values() for pair in pairs]
    if not every:
        raise UsageError(f"{system!r} gave no confidences to calibrate")
    sources = {r.confidence_source for r in summary.runs if r.confidence}
    if len(sources) != 1 or None in sources:
        raise UsageError(f"{system!r} mixes confidence sources {sorted(map(str, sources))}")
    return Calibration(
        source=str(sources.pop()),
        pooled=fit_knots(every),
        fields={
            name: fit_knots(pairs) for name, pairs in by_field.items() if len(pairs) >= min_values
        },
        values=len(every),
    )
