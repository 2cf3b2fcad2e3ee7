"""Ensembles: several models or samples per document, voted field by field, with the
share of members behind every value."""

from ._vote import Ballot, Vote, vote

__all__ = ["Ballot", "Vote", "vote"]
