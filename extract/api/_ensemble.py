"""``Ensemble``: the verbs over an ensemble's runner (``extract.features.ensemble``)."""

from __future__ import annotations

from collections.abc import Sequence

from extract.features.ensemble import EnsembleRunner, Member

from ._verbs import Verbs


class Ensemble(Verbs):
    """Extracts with every member and votes their answers into one value.

    ``members``: extractors (local, hosted, students, any mix) or ``Member`` objects.
    ``samples=n`` asks each member ``n`` times at ``temperature``, with seeds ``seed``,
    ``seed + 1``... Each leaf value is a weighted majority over the members that
    answered (ties: the heavier member, then the one listed first); list items are
    matched across members and kept when members with at least ``min_support`` of the
    weight have them; ``min_similarity`` is how alike two items must be to be one item.
    The voted value is validated like any answer; if it does not validate, the answer
    the members agree with most is used and ``result.fallback`` says why.
    ``result.confidence`` holds, per JSON pointer, the share of members agreeing;
    ``result.candidates`` every member's answer or error. A member that fails is left
    out of the vote; if all fail, the first failure is raised (an ``ExtractionError``
    with every attempt, when all were).

    Every verb of ``Extractor`` works here; ``stream`` gives the voted ``Result`` alone
    (a vote needs whole answers) and ``iter_items`` its items once it is known. Members
    with a local model run one after another (they share the CPU; samples of one model
    reuse its evaluated prompt), hosted members at the same time.
    """

    def __init__(
        self,
        members: Sequence[Verbs | Member] | Verbs | Member,
        /,
        *,
        samples: int = 1,
        temperature: float = 0.7,
        seed: int = 0,
        min_support: float = 0.5,
        min_similarity: float = 0.5,
    ) -> None:
        if not isinstance(members, Sequence):
            members = [members]
        self._vote = EnsembleRunner.of(
            members,
            samples=samples,
            temperature=temperature,
            seed=seed,
            min_support=min_support,
            min_similarity=min_similarity,
        )
        super().__init__(self._vote)

    def __repr__(self) -> str:
        return repr(self._vote)

    @property
    def members(self) -> tuple[Member, ...]:
        """Every voter, samples expanded (``Member.name`` says which is which)."""
        return self._vote.members

    @property
    def min_support(self) -> float:
        return self._vote.min_support

    @property
    def min_similarity(self) -> float:
        return self._vote.min_similarity
