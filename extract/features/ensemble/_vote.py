"""Several answers voted into one, leaf by leaf, with the share of members behind each value.

Every answer is a JSON value with a weight (a ``Ballot``). The rules, applied from the
root down (``vote`` runs them; docs/how-to/ensembles.md states them for users):

- At each place, a value is given when the members that give one (not null, not a
  missing key) carry at least ``min_support`` of the weight that reached the place;
  otherwise the place is empty (null or absent, as most of the weight has it). A small
  model's samples tend to agree on leaving a field empty and to differ in how they fill
  it: without this rule an even split of the fillers loses to the empty answer.
- Among the values given, the members vote for a kind: an object, a list, or one scalar
  value (strings compared with case and spacing folded, numbers by value). The most
  weight wins; on equal weight, the group whose heaviest member is heavier; then the
  group of the member listed first.
- An object's keys are voted among the members that answered with an object there.
- A list's items are aligned one-to-one across members (``_align``): objects and lists
  by an optimal assignment on similarity, scalars as multisets (the k-th copy of a
  value is one item). An item is kept when the members holding it carry at least
  ``min_support`` of the weight that reached the list; kept items come in the order of
  their weighted median position, then are voted like any place.
- ``confidence[pointer]``: the share of members (by count, not weight; a member that
  gave no answer agrees with nothing) that agree with the voted value there, for every
  place of the voted value.

With ``lead``, one member's answer is taken as it is and the others are only aligned
to it: its confidence is what the members agree with, the ensemble's fallback when a
vote does not validate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from extract.schemas import child_pointer

from ._align import ABSENT, Aligner, Cluster, Entry, group_key

Source = tuple[int, str]  # a member's index and its own JSON pointer to the value


@dataclass(frozen=True)
class Ballot:
    """One member's answer as a JSON value, its weight, and the spans it grounded
    (its own JSON pointers -> character offsets), which help align list items."""

    value: Any
    weight: float = 1.0
    spans: Mapping[str, tuple[int, int]] = field(default_factory=dict)


@dataclass
class Vote:
    """The voted JSON value, the share of members agreeing at each JSON pointer, and
    which members' values (by their own pointers) agree there."""

    value: Any
    confidence: dict[str, float]
    sources: dict[str, list[Source]]

    @property
    def agreement(self) -> float:
        """The mean confidence over every place: how much the members back this value."""
        return sum(self.confidence.values()) / len(self.confidence) if self.confidence else 1.0


def vote(
    ballots: Sequence[Ballot],
    *,
    min_support: float = 0.5,
    min_similarity: float = 0.5,
    lead: int | None = None,
    abstained: int = 0,
) -> Vote:
    """The members' answers voted into one (see the module's rules). ``abstained``:
    members that gave no answer; they count as disagreeing in ``confidence``."""
    if not ballots:
        raise ValueError("a vote needs at least one ballot")
    if any(not b.weight > 0 for b in ballots):
        raise ValueError("every member's weight must be > 0")
    if lead is not None and not 0 <= lead < len(ballots):
        raise ValueError(f"lead must index a ballot, not {lead!r}")
    aligner = Aligner([b.weight for b in ballots], [b.spans for b in ballots], min_similarity)
    voter = _Voter(ballots, min_support, aligner, lead)
    voter.members += abstained
    entries = [Entry(i, b.value, "") for i, b in enumerate(ballots)]
    value = voter.place(entries, "")
    return Vote(value, voter.confidence, voter.sources)


class _Voter:
    def __init__(
        self, ballots: Sequence[Ballot], min_support: float, aligner: Aligner, lead: int | None
    ) -> None:
        self.weights = [b.weight for b in ballots]
        self.members = len(ballots)
        self.min_support = min_support
        self.aligner = aligner
        self.lead = lead
        self.confidence: dict[str, float] = {}
        self.sources: dict[str, list[Source]] = {}

    def place(self, entries: list[Entry], pointer: str) -> Any:
        """The voted value where ``entries`` (the members reaching it) answered."""
        reached = sum(self.weights[e.member] for e in entries)
        present = [e for e in entries if e.value is not ABSENT and e.value is not None]
        if self.lead is None:
            # As for list items: a value is given when members with min_support of the
            # weight give one (whichever); otherwise the place stays empty.
            given = sum(self.weights[e.member] for e in present)
            if present and given >= self.min_support * reached:
                entries = present
            elif present:
                entries = [e for e in entries if e.value is ABSENT or e.value is None]
        groups: dict[Any, list[Entry]] = {}
        for entry in entries:
            groups.setdefault(group_key(entry.value), []).append(entry)
        winner = groups[self._winner(groups)]
        first = winner[0].value
        if first is ABSENT:
            return ABSENT
        self.confidence[pointer] = len(winner) / self.members
        self.sources[pointer] = [(e.member, e.pointer) for e in winner]
        if isinstance(first, dict):
            return self._object(winner, pointer)
        if isinstance(first, list):
            return self._list(winner, reached, pointer)
        # Folded strings and equal numbers share a group: the spelling is voted too.
        spellings: dict[Any, list[Entry]] = {}
        for entry in winner:
            spellings.setdefault((type(entry.value), entry.value), []).append(entry)
        return spellings[self._winner(spellings)][0].value

    def _winner(self, groups: Mapping[Any, list[Entry]]) -> Any:
        """The group with the most weight; then the heaviest member; then the first."""
        if self.lead is not None:
            for key, members in groups.items():
                if any(e.member == self.lead for e in members):
                    return key

        def rank(key: Any) -> tuple[float, float, int]:
            weights = [self.weights[e.member] for e in groups[key]]
            return (sum(weights), max(weights), -min(e.member for e in groups[key]))

        return max(groups, key=rank)

    def _object(self, winner: list[Entry], pointer: str) -> dict[str, Any]:
        keys = dict.fromkeys(k for e in sorted(winner, key=lambda e: e.member) for k in e.value)
        out = {}
        for key in keys:
            child = child_pointer(pointer, key)
            value = self.place(
                [Entry(e.member, e.value.get(key, ABSENT), child_pointer(e.pointer, key))
                 for e in winner],
                child,
            )  # fmt: skip
            if value is not ABSENT:
                out[key] = value
        return out

    def _list(self, winner: list[Entry], reached: float, pointer: str) -> list[Any]:
        clusters = self.aligner.clusters(winner)
        if self.lead is not None:
            kept = [c for c in clusters if any(e.member == self.lead for e in c.items)]
        else:
            kept = [
                c for c in clusters
                if sum(self.weights[e.member] for e in c.items) >= self.min_support * reached
            ]  # fmt: skip
        kept.sort(key=lambda c: (self._position(c), c.order))
        return [self.place(list(c.items), f"{pointer}/{k}") for k, c in enumerate(kept)]

    def _position(self, cluster: Cluster) -> float:
        """The weighted median of the item's positions (0 first, 1 last): members
        holding most of its weight place it where they all put it."""
        if self.lead is not None:
            return next(e.position for e in cluster.items if e.member == self.lead)
        placed = sorted((e.position, self.weights[e.member]) for e in cluster.items)
        half = sum(w for _, w in placed) / 2
        running = 0.0
        for position, weight in placed:
            running += weight
            if running >= half:
                return position
        return placed[-1][0]
