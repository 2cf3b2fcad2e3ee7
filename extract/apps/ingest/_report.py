"""What an ingestion did with every record it read (no SQLAlchemy needed to import)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class IngestReport:
    """Every record read is counted in exactly one of the outcome fields."""

    read: int = 0
    loaded: int = 0  # new rows
    updated: int = 0  # existing key, changed content
    duplicates: int = 0  # existing key, same content (or repeated within the input)
    quarantined: int = 0
    review: int = 0  # valid, but holding a value below min_confidence: the review table
    repaired: int = 0  # loaded after a safe repair of their JSON (counted in loaded too)
    retried: int = 0  # quarantined rows re-validated (retry_quarantine)
    seconds: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)  # quarantine reasons
    examples: list[tuple[str, int, str]] = field(default_factory=list)  # a few failures

    @property
    def accounted(self) -> bool:
        return (
            self.read
            == self.loaded + self.updated + self.duplicates + self.quarantined + self.review
        )

    def summary(self) -> str:
        rate = self.read / self.seconds if self.seconds else 0.0
        parts = [
            f"{self.read} read",
            f"{self.loaded} loaded",
            f"{self.updated} updated",
            f"{self.duplicates} duplicates",
            f"{self.quarantined} quarantined",
        ]
        if self.review:
            parts.append(f"{self.review} for review")
        lines = [", ".join(parts) + f" in {self.seconds:.1f} s ({rate:.0f} records/s)"]
        if self.repaired:
            lines.append(f"{self.repaired} loaded after repairing their JSON")
        for reason, count in self.reasons.most_common():
            lines.append(f"  quarantined {count}: {reason}")
        for source, position, error in self.examples:
            lines.append(f"  e.g. {source}:{position}: {error}")
        return "\n".join(lines)
