"""Ensembles: several models or samples per document, voted field by field, with the
share of members behind every value (``Result.confidence``)."""

from ._ensemble import Ensemble, Member
from ._vote import Ballot, Vote, vote

__all__ = ["Ballot", "Ensemble", "Member", "Vote", "vote"]
