"""What each of the loop's systems scores on the answered documents so far."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._choose import Evidence


@dataclass(frozen=True)
class LoopReport:
    answers: int
    queued: int  # documents queued with ``Loop.add`` (of which ``answers`` may be some)
    student: str | None  # the current student's folder, or None
    student_answers: int  # answers the current student was trained on
    training: bool  # a retraining is running
    window: int  # scores are over each system's last ``window`` answered documents
    evidence: Evidence
    chosen: dict[str, str]  # unit -> the system that suggests it now

    def f1(self, system: str, unit: str) -> float | None:
        """F1 of ``system`` on ``unit`` (None: not scored there yet)."""
        documents, counts = self.evidence.get(system, {}).get(unit, (0, None))
        return None if counts is None or not documents else counts.f1

    def to_json(self) -> dict[str, Any]:
        return {
            "answers": self.answers,
            "queued": self.queued,
            "student": self.student,
            "student_answers": self.student_answers,
            "training": self.training,
            "window": self.window,
            "chosen": self.chosen,
            "systems": {
                system: {
                    unit or "/": {"documents": n, "f1": c.f1, **c.to_json(), "edits": c.edits}
                    for unit, (n, c) in units.items()
                }
                for system, units in self.evidence.items()
            },
        }

    def render(self) -> str:
        systems = sorted(self.evidence)
        student = (
            f"student trained on {self.student_answers} answers"
            if self.student
            else "no student yet"
        )
        lines = [
            f"{self.answers} answers; {student}" + ("; retraining" if self.training else ""),
            f"F1 over each system's last {self.window} answered documents (chosen: *):",
        ]
        if not systems:
            lines.append(
                "  nothing scored yet: a suggestion is scored when its document is answered"
            )
            return "\n".join(lines)
        lines.append("  " + "field".ljust(24) + "".join(s.rjust(12) for s in systems))
        for unit, chosen in self.chosen.items():
            cells = []
            for system in systems:
                value = self.f1(system, unit)
                cell = "-" if value is None else f"{value:.3f}"
                cells.append((cell + ("*" if system == chosen else " ")).rjust(12))
            lines.append("  " + (unit or "/").ljust(24) + "".join(cells))
        return "\n".join(lines)
