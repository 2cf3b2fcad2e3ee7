"""Test your parsers and pipelines with the same models you extract with.

    from hypothesis import given
    from extract.testing import llm_outputs

    @given(llm_outputs(Invoice))
    def test_my_parser(output):
        ...

Strategies (Hypothesis): ``instances`` (valid values), ``json_outputs`` (valid JSON
text as models print it), ``llm_outputs`` (labelled damaged output). Backends:
``FakeBackend`` (grammar-valid output, no model) and ``ScriptedBackend`` (replays
outputs you give it). Needs the ``testing`` extra (hypothesis, hypothesis-jsonschema).
"""

try:
    import hypothesis  # noqa: F401
    import hypothesis_jsonschema  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "extract.testing needs hypothesis and hypothesis-jsonschema: "
        "pip install 'structured-extract[testing]'"
    ) from exc

from ._backends import FakeBackend, ScriptedBackend, ScriptExhaustedError
from ._damage import REPAIRABLE, Damage, Expected, LLMOutput, llm_outputs
from ._instances import instances, json_outputs, json_values

__all__ = [
    "REPAIRABLE",
    "Damage",
    "Expected",
    "FakeBackend",
    "LLMOutput",
    "ScriptExhaustedError",
    "ScriptedBackend",
    "instances",
    "json_outputs",
    "json_values",
    "llm_outputs",
]
