"""A per-field map from a raw confidence to how often such values were right.

Raw confidences rank values (see ``_confidence``) but are not probabilities: on the
corpus a value at 0.9 was right about half the time. ``Calibration`` is fitted on
reviewed values (``extract.evaluation.fit_calibration``): per field, isotonic
regression of right (1) or wrong (0) on the raw confidence, so that the map keeps the
ranking and 0.9 afterwards means about 90% right on that task. A field with too few
reviewed values uses the map of all fields pooled. Saved as JSON beside the target.
"""

from __future__ import annotations

import bisect
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from extract.schemas import field_pattern

from ._errors import UsageError

Knots = tuple[tuple[float, ...], tuple[float, ...]]  # raw confidences, fitted accuracies
VERSION = 1


@dataclass(frozen=True)
class Calibration:
    """``apply(confidence)`` maps each pointer's raw confidence through its field's
    map (``/items/*/name`` for ``/items/3/name``), or the pooled one."""

    source: str  # what it was fitted on: "tokens" or "agreement"
    pooled: Knots
    fields: Mapping[str, Knots] = field(default_factory=dict)
    values: int = 0  # reviewed values it was fitted on

    def apply(self, confidence: Mapping[str, float]) -> dict[str, float]:
        return {
            pointer: _through(self.fields.get(field_pattern(pointer), self.pooled), sure)
            for pointer, sure in confidence.items()
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "source": self.source,
            "values": self.values,
            "pooled": [list(self.pooled[0]), list(self.pooled[1])],
            "fields": {name: [list(x), list(y)] for name, (x, y) in self.fields.items()},
        }

    @classmethod
    def from_json(cls, data: Any) -> Calibration:
        try:
            if data["version"] != VERSION:
                raise UsageError(f"calibration version {data['version']!r}; this reads {VERSION}")
            return cls(
                source=str(data["source"]),
                pooled=_knots(data["pooled"]),
                fields={str(k): _knots(v) for k, v in data["fields"].items()},
                values=int(data.get("values", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"not a calibration: {exc!r}") from exc

    def save(self, path: str | os.PathLike[str]) -> None:
        temporary = f"{os.fspath(path)}.tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=1)
        os.replace(temporary, path)  # a crash leaves the old file, never half a new one

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Calibration:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the calibration {os.fspath(path)}: {exc}") from exc
        return cls.from_json(data)


def as_calibration(given: Any) -> Calibration | None:
    """``calibration=``: a ``Calibration``, a path to one saved, or None."""
    if given is None or isinstance(given, Calibration):
        return given
    if isinstance(given, str | os.PathLike):
        return Calibration.load(given)
    raise UsageError(f"calibration must be a Calibration or a path, not {type(given).__name__}")


def _knots(raw: Any) -> Knots:
    x, y = raw
    xs, ys = tuple(float(v) for v in x), tuple(float(v) for v in y)
    if not xs or len(xs) != len(ys) or list(xs) != sorted(xs):
        raise ValueError("knots must be two lists of one length, the first sorted")
    if not all(0.0 <= v <= 1.0 for v in ys):
        raise ValueError("fitted accuracies must be within [0, 1]")
    return xs, ys


def _through(knots: Knots, sure: float) -> float:
    """Linear between knots, flat beyond them (what ``numpy.interp`` does, without
    loading numpy for every result)."""
    xs, ys = knots
    if sure <= xs[0]:
        return ys[0]
    if sure >= xs[-1]:
        return ys[-1]
    i = bisect.bisect_right(xs, sure)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 if x1 == x0 else y0 + (y1 - y0) * (sure - x0) / (x1 - x0)


def fit_knots(pairs: Sequence[tuple[float, bool]]) -> Knots:
    """Isotonic regression of right on confidence (scipy's pool-adjacent-violators):
    one knot per distinct confidence, accuracies never falling as confidence rises."""
    from scipy.optimize import isotonic_regression

    totals: dict[float, list[int]] = {}
    for sure, right in pairs:
        tally = totals.setdefault(float(sure), [0, 0])
        tally[0] += 1
        tally[1] += bool(right)
    xs = sorted(totals)
    rates = [totals[x][1] / totals[x][0] for x in xs]
    weights = [float(totals[x][0]) for x in xs]
    fitted = isotonic_regression(rates, weights=weights, increasing=True).x
    return tuple(xs), tuple(min(1.0, max(0.0, float(v))) for v in fitted)
