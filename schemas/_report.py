"""What a compiled schema enforces while decoding, and what only afterwards."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Constraint:
    """One schema keyword at one place in the document (a JSON Pointer-like path)."""

    path: str
    keyword: str
    detail: str = ""

    def __str__(self) -> str:
        tail = f" ({self.detail})" if self.detail else ""
        return f"{self.path or '/'}: {self.keyword}{tail}"


@dataclass(frozen=True)
class ConstraintReport:
    """The split between grammar-enforced and validated-after-decoding constraints.

    ``degraded`` is true when the grammar is looser than the schema; everything the
    grammar does not enforce is in ``validated_after`` and is checked on every output,
    with a retry when it fails.
    """

    enforced: tuple[Constraint, ...]
    validated_after: tuple[Constraint, ...]
    degraded: bool
    notes: tuple[str, ...] = ()

    def render(self) -> str:
        lines = [f"grammar: {'degraded (looser than the schema)' if self.degraded else 'full'}"]
        lines.append(f"enforced while decoding ({len(self.enforced)}):")
        lines.extend(f"  {c}" for c in self.enforced)
        lines.append(f"validated after decoding ({len(self.validated_after)}):")
        lines.extend(f"  {c}" for c in self.validated_after)
        if self.notes:
            lines.append("notes:")
            lines.extend(f"  {n}" for n in self.notes)
        return "\n".join(lines)
