"""Ensembles: several models or samples per document, voted field by field, with the
share of members behind every value (``Result.confidence``). ``extract.Ensemble``
(``extract.api``) is the front door; here are its runner and the vote."""

from ._runner import EnsembleRunner, Member
from ._vote import Ballot, Vote, vote

__all__ = ["Ballot", "EnsembleRunner", "Member", "Vote", "vote"]
