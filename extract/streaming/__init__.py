"""Streaming: typed partial records while the model writes (``Extractor.stream``)."""

from ._parser import PartialParser
from ._stream import Follower, Snapshot, astream_run, stream_run

__all__ = ["Follower", "PartialParser", "Snapshot", "astream_run", "stream_run"]
