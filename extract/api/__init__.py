"""The front door: ``Extractor`` and ``Ensemble`` with their verbs (``run``,
``extract``, ``stream``, ``iter_items``, ``run_many`` and the async forms), the
module-level ``extract()`` family, and ``parse()``. What ``extract/__init__.py``
exports comes from here, the features and the core.
"""
