"""``to_arrow``: outcomes as a typed Arrow table, for pandas, polars, DuckDB and Parquet.

The columns come from the target (``_arrow_schema``), so every table of one target has
the same schema, even one whose every row failed. pyarrow is the ``tables`` extra and is
imported only here, when a table is asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter
from pydantic_core import PydanticSerializationError

from extract.core._errors import UnsupportedTypeError, UsageError

from ._engine import Outcome

if TYPE_CHECKING:
    import pyarrow

    from ._arrow_schema import Shape

# Beside the value's columns: what each outcome says about its run. ``attempts`` is null
# for a failure (its error says why), ``cost_usd`` where any part has no known price.
_AFTER = (
    "error", "attempts", "prompt_tokens", "completion_tokens", "cost_usd", "cached", "seconds",
)  # fmt: skip
OUTCOME_COLUMNS = ("id", *_AFTER)


def to_arrow(
    outcomes: Iterable[Outcome[Any]], target: Any, *, flatten: bool = True
) -> pyarrow.Table:
    """One row per outcome, in order, failures too: a ``pyarrow.Table`` whose columns
    are typed from ``target``, not from the data.

    Columns: ``id``; the value's (a Pydantic model's fields, or a closed JSON Schema
    object's properties, one column each; any other target, or ``flatten=False``, one
    ``value`` column); ``error`` (``"Type: message"``, null for a value; a failed row's
    value columns are null); ``attempts`` (null for a failure), ``prompt_tokens`` and
    ``completion_tokens`` (what the document spent, failed or not), ``cost_usd`` (null
    where a price is unknown), ``cached`` and ``seconds``.

    Types: nested models are structs, lists lists, ``dict[str, X]`` maps, enums and
    Literals strings, ``date`` ``date32``, ``datetime`` a naive ``timestamp[us]`` (an
    aware value as its UTC time; ``AwareDatetime`` is ``timestamp[us, UTC]``), ``time``
    ``time64[us]``, ``timedelta`` ``duration[us]``, ``Decimal`` ``decimal128(max_digits,
    decimal_places)`` when both are declared (exact) and ``float64`` otherwise (no
    scale fits every value). Where Arrow has no type (a union of unlike types, ``Any``,
    a free-form or open object, a recursive model) the column holds the value's JSON
    text and its field metadata says ``{"encoding": "json"}``.

    ``outcomes``: any iterable of ``extract.Outcome`` (``run_many``'s generator too).
    A field named like one of the outcome columns (``id``, ``error``...) is a
    ``UsageError`` unless ``flatten=False``. Needs the ``tables`` extra (pyarrow).
    """
    pa = _pyarrow()
    from ._arrow_schema import json_schema_of, shape_of

    try:
        schema, closed = json_schema_of(target)
    except Exception as exc:  # Pydantic raises several kinds for a type it cannot read
        raise UnsupportedTypeError(f"to_arrow: no JSON Schema for {target!r}: {exc}") from exc
    root = shape_of(schema, closed)
    columns = _value_columns(root, flatten, target)
    dump = _dumper(target)
    rows = list(_checked(outcomes))
    arrays = {"id": pa.array([o.id for o in rows], pa.string())}
    values = [dump(o) for o in rows]
    flat = flatten and bool(root.fields)
    for name, shape in columns:
        cells = [v.get(name) if flat and v is not None else v for v in values]
        arrays[name] = _column(pa, name, shape, cells, rows)
    arrays.update(_outcome_arrays(pa, rows))
    fields = [pa.field("id", pa.string(), nullable=False)]
    fields += [replace(shape, nullable=True).field(name) for name, shape in columns]
    fields += [pa.field(name, arrays[name].type, nullable=name in _NULLABLE) for name in _AFTER]
    return pa.Table.from_arrays([arrays[f.name] for f in fields], schema=pa.schema(fields))


_NULLABLE = {"error", "attempts", "cost_usd"}


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError as exc:
        raise ImportError(
            f"to_arrow needs pyarrow: pip install 'structured-extract[tables]' ({exc})"
        ) from exc
    return pyarrow


def _value_columns(root: Shape, flatten: bool, target: Any) -> list[tuple[str, Shape]]:
    if not (flatten and root.fields):
        return [("value", root)]
    clash = [name for name, _ in root.fields if name in OUTCOME_COLUMNS]
    if clash:
        raise UsageError(
            f"to_arrow: {_name(target)}'s field {clash[0]!r} would share its name with the "
            f"outcome column {clash[0]!r}; pass flatten=False for the record as one "
            "struct column 'value'"
        )
    return list(root.fields)


def _checked(outcomes: Iterable[Outcome[Any]]) -> Iterable[Outcome[Any]]:
    if isinstance(outcomes, Outcome) or not isinstance(outcomes, Iterable):
        hint = " (collect arun_many's first: [o async for o in ...])" if hasattr(
            outcomes, "__aiter__") else ""  # fmt: skip
        raise UsageError(
            f"to_arrow takes an iterable of extract.Outcome (what run_many yields), not "
            f"{type(outcomes).__name__}{hint}"
        )
    for position, item in enumerate(outcomes):
        if not isinstance(item, Outcome):
            raise UsageError(
                f"to_arrow: item {position} is a {type(item).__name__}, not an extract.Outcome "
                "(what run_many yields)"
            )
        yield item


def _dumper(target: Any) -> Any:
    """An outcome's value as JSON (by field name, as ``model_dump``), or None."""
    if isinstance(target, dict):
        return lambda outcome: outcome.value if outcome.ok else None
    adapter: TypeAdapter[Any] = TypeAdapter(target)
    is_model = isinstance(target, type) and issubclass(target, BaseModel)

    def dump(outcome: Outcome[Any]) -> Any:
        if not outcome.ok:
            return None
        value = outcome.value
        if is_model and not isinstance(value, target):
            raise UsageError(_not_of(outcome, target))
        try:
            return adapter.dump_python(value, mode="json", by_alias=False, warnings="error")
        except PydanticSerializationError as exc:
            raise UsageError(f"{_not_of(outcome, target)}: {exc}") from exc

    return dump


def _not_of(outcome: Outcome[Any], target: Any) -> str:
    return (
        f"to_arrow: outcome {outcome.id!r} holds a {type(outcome.value).__name__}, not a value "
        f"of {_name(target)}; pass the target run_many was given"
    )


def _column(
    pa: Any, name: str, shape: Shape, cells: list[Any], rows: list[Outcome[Any]]
) -> pyarrow.Array:
    """One column's array; a value its type cannot hold is an error naming the row."""
    converted = []
    for cell, outcome in zip(cells, rows, strict=True):
        try:
            converted.append(shape.value(cell))
        except Exception as exc:  # a custom serializer writing what the type cannot read
            raise _unfit(name, shape, outcome, exc) from exc
    try:
        return pa.array(converted, type=shape.type)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        for value, outcome in zip(converted, rows, strict=True):
            try:
                pa.array([value], type=shape.type)
            except (pa.ArrowException, OverflowError, TypeError, ValueError) as exc:
                raise _unfit(name, shape, outcome, exc) from exc
        raise


def _unfit(name: str, shape: Shape, outcome: Outcome[Any], exc: Exception) -> Exception:
    return UnsupportedTypeError(
        f"to_arrow: column {name!r} ({shape.type}) cannot hold the value of outcome "
        f"{outcome.id!r}: {exc}"
    )


def _outcome_arrays(pa: Any, rows: list[Outcome[Any]]) -> dict[str, pyarrow.Array]:
    usage = [o.usage for o in rows]
    attempts = [None if o.result is None else len(o.result.attempts) for o in rows]
    return {
        "error": pa.array([o.error for o in rows], pa.string()),
        "attempts": pa.array(attempts, pa.int64()),
        "prompt_tokens": pa.array([u.prompt_tokens for u in usage], pa.int64()),
        "completion_tokens": pa.array([u.completion_tokens for u in usage], pa.int64()),
        "cost_usd": pa.array([u.cost for u in usage], pa.float64()),
        "cached": pa.array([o.cached for o in rows], pa.bool_()),
        "seconds": pa.array([float(o.seconds) for o in rows], pa.float64()),
    }


def _name(target: Any) -> str:
    if isinstance(target, type):
        return target.__name__
    if isinstance(target, dict):
        return str(target.get("title", "the schema"))
    return str(target)
