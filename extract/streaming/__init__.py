"""Streaming: typed partial records while the model writes (``Extractor.stream``)."""

from ._parser import PartialParser
from ._stream import Follower, Snapshot, stream_run

__all__ = ["Follower", "PartialParser", "Snapshot", "stream_run"]
