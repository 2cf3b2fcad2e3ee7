"""Fixtures for users' test suites, registered when the package is installed.

``fake_extractor``: an ``Extractor`` on ``FakeBackend`` (grammar-valid output, no model).
``scripted_extractor``: a factory, ``scripted_extractor(["{...}", ...])``, returning an
``Extractor`` that replays those outputs; its backend is ``extractor.backend``.

Imports are deferred: installing the package must not slow down or break pytest
for projects that never use these fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest


@pytest.fixture
def fake_extractor() -> Any:
    from . import Extractor
    from .apps.testing import FakeBackend

    return Extractor(FakeBackend(seed=0))


@pytest.fixture
def scripted_extractor() -> Callable[[Iterable[Any]], Any]:
    from . import Extractor
    from .apps.testing import ScriptedBackend

    def make(outputs: Iterable[Any]) -> Any:
        return Extractor(ScriptedBackend(outputs))

    return make
