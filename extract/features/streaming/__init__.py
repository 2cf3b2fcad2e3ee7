"""Streaming: typed partial records while the model writes (``Extractor.stream``), and
a list's items as they complete (``Extractor.iter_items``)."""

from ._growing import growing_rule
from ._items import AsyncItems, ItemGate, Items, item_type
from ._parser import PartialParser
from ._stream import Follower, Snapshot, astream_run, stream_run

__all__ = [
    "AsyncItems",
    "Follower",
    "ItemGate",
    "Items",
    "PartialParser",
    "Snapshot",
    "astream_run",
    "growing_rule",
    "item_type",
    "stream_run",
]
