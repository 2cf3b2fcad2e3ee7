"""Hypothesis strategies of valid values, and of valid JSON text as models print it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import TypeAdapter

import extract.schemas as schemas
from extract.core._options import compile_target
from extract.schemas import Invalid

_REJECTED = object()  # a generated value the validator refused (custom validators...)

# Formats Pydantic emits that hypothesis-jsonschema does not generate itself.
_DURATIONS = st.builds(
    lambda d, h, m, s: f"P{d}DT{h}H{m}M{s}S",
    st.integers(0, 400),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
)
_EXTRA_FORMATS: dict[str, st.SearchStrategy[str]] = {
    "uuid": st.uuids().map(str),
    "duration": _DURATIONS,
}
_KNOWN_FORMATS = frozenset(
    {
        "color", "date", "date-time", "email", "full-date", "full-time", "hostname",
        "idn-email", "idn-hostname", "ipv4", "ipv6", "iri", "iri-reference",
        "json-pointer", "partial-time", "regex", "relative-json-pointer", "time", "uri",
        "uri-reference", "uri-template",
    }
)  # fmt: skip


def instances(target: Any) -> st.SearchStrategy[Any]:
    """Valid values of ``target``: model instances for Pydantic types, JSON for schemas.

    Values are drawn from the target's JSON Schema (``hypothesis-jsonschema``), with
    recursion bounded to ``extract.schemas.RECURSION_DEPTH`` levels, and kept only when the
    target's own validator accepts them, so custom validators are respected too.
    """
    compiled = compile_target(target)
    schema = _as_draft7_tuples(schemas.bounded_recursion(compiled.json_schema))
    raw = from_schema(schema, custom_formats=_custom_formats(schema))
    validate = compiled.validate

    def validated(value: Any) -> Any:
        outcome = validate(json.dumps(value))
        return _REJECTED if isinstance(outcome, Invalid) else outcome

    return raw.map(validated).filter(lambda v: v is not _REJECTED)


def json_values(target: Any) -> st.SearchStrategy[Any]:
    """Valid values of ``target`` as plain JSON data (dicts, lists, str, numbers...)."""
    dump = _dumper(target)
    return instances(target).map(dump)


def json_outputs(target: Any) -> st.SearchStrategy[str]:
    """Valid JSON text of ``target`` as models actually print it.

    Varies what a parser must not care about: indentation and spacing, key order,
    ``\\uXXXX`` escapes of non-ASCII text.
    """
    return st.builds(
        _print,
        json_values(target),
        indent=st.sampled_from([None, None, 0, 2, 4, "\t"]),
        spaced=st.booleans(),
        ensure_ascii=st.booleans(),
        key_order=st.sampled_from(["as given", "sorted", "shuffled"]),
        rnd=st.randoms(use_true_random=False),
    )


def _print(
    value: Any, *, indent: Any, spaced: bool, ensure_ascii: bool, key_order: str, rnd: Any
) -> str:
    if key_order == "shuffled":
        value = _shuffled(value, rnd)
    separators = (", ", ": ") if spaced else (",", ":")
    return json.dumps(
        value,
        indent=indent,
        separators=separators if indent is None else (",", separators[1]),
        ensure_ascii=ensure_ascii,
        sort_keys=key_order == "sorted",
    )


def _shuffled(value: Any, rnd: Any) -> Any:
    if isinstance(value, dict):
        keys = list(value)
        rnd.shuffle(keys)
        return {k: _shuffled(value[k], rnd) for k in keys}
    if isinstance(value, list):
        return [_shuffled(v, rnd) for v in value]
    return value


def _dumper(target: Any) -> Any:
    if isinstance(target, dict):
        return lambda value: value
    adapter: TypeAdapter[Any] = TypeAdapter(target)
    return lambda value: adapter.dump_python(value, mode="json", by_alias=True)


def _as_draft7_tuples(schema: Any) -> Any:
    """``prefixItems`` (draft 2020-12, Pydantic's tuples) spelled as draft 7's array ``items``.

    hypothesis-jsonschema reads schemas as draft 7 and would ignore ``prefixItems``,
    generating tuples of anything that the validator then throws away.
    """
    for _, node in schemas.walk(schema):
        prefix = node.get("prefixItems")
        if isinstance(prefix, list):
            rest = node.pop("items", True)
            node["items"] = node.pop("prefixItems")
            node["additionalItems"] = rest
    return schema


def _custom_formats(schema: Any) -> dict[str, st.SearchStrategy[str]]:
    """A strategy for every format in ``schema``; unknown ones get text + validation."""
    found: dict[str, st.SearchStrategy[str]] = {}
    for _, node in schemas.walk(schema):
        fmt = node.get("format")
        if isinstance(fmt, str) and fmt not in _KNOWN_FORMATS:
            found[fmt] = _EXTRA_FORMATS.get(fmt, st.text(max_size=20))
    return found
