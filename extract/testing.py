"""Test your parsers and pipelines with the same models you extract with.

The public path of ``extract/apps/testing/``: see there.
"""

from .apps.testing import (
    REPAIRABLE,
    Damage,
    Expected,
    FakeBackend,
    LLMOutput,
    ScriptedBackend,
    ScriptExhaustedError,
    instances,
    json_outputs,
    json_values,
    llm_outputs,
)

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
