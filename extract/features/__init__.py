"""The features: what shapes records beyond one plain answer, built on the core.

``streaming`` (snapshots while the model writes, a list's items as they complete),
``ensemble`` (several answers voted field by field) and ``batch`` (many documents:
pools, cache, rate limits, progress, resumable output).
"""
