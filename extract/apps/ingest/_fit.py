"""What a database column can hold, checked on each row before it is written.

A valid record can still hold a value its column cannot store, or one that would
read back as something else: an integer beyond BIGINT makes the driver raise (and,
unchecked, fail the whole batch), SQLite stores NaN as NULL, JSON has no NaN or
infinity, PostgreSQL text has no NUL, its numeric and timestamps have narrower
ranges than Python's. Such a record is quarantined with the reason instead. Values
these checks do not foresee and the database still refuses are isolated per record
when the batch is written (``_write``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._tables import FieldColumn

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
# PostgreSQL numeric: up to 131072 digits before the decimal point, 16383 after.
_NUMERIC_INTEGER_DIGITS, _NUMERIC_SCALE = 131072, 16383
# PostgreSQL time zone displacements stop below 16 hours (Python's go to 24).
_TIMETZ_OFFSET = dt.timedelta(hours=16)
# A timestamp is read back in the session's time zone, which may shift it by up to a
# day: one that close to Python's year 1 or 9999 cannot be read back as a datetime.
_EARLIEST = dt.datetime.min + dt.timedelta(days=1)
_LATEST = dt.datetime.max - dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a row cannot be stored: the quarantine reason and the detail of one field."""

    field: str | None
    reason: str
    detail: str

    def errors(self) -> list[dict[str, Any]]:
        loc = [self.field] if self.field else []
        return [{"type": "not_storable", "loc": loc, "msg": self.detail}]


Check = Callable[[Any], str | None]  # a non-None value -> why it cannot be stored, or None


class Capacity:
    """The checks one table's typed columns need on one database (``dialect``)."""

    def __init__(self, fields: Sequence[FieldColumn], dialect: str) -> None:
        self.dialect = dialect
        checks: dict[str, Check] = {"int": _bigint}
        if dialect == "sqlite":
            checks["float"] = _nan_on_sqlite
        elif dialect == "postgresql":
            checks.update(text=_nul, datetime=_timestamp, time=_timetz, decimal=_numeric)
        self._typed = tuple(
            (f.name, checks[f.kind]) for f in fields if f.typed and f.kind in checks
        )
        self._json = tuple(f.name for f in fields if not f.typed)

    def check(self, row: dict[str, Any]) -> Refusal | None:
        """The first typed value of ``row`` its column cannot hold, if any."""
        for name, check in self._typed:
            value = row[name]
            if value is not None:
                problem = check(value)
                if problem is not None:
                    return Refusal(name, problem, f"{_short(value)}: {problem}")
        return None

    def non_finite(self, row: dict[str, Any]) -> Refusal | None:
        """For a row holding NaN or an infinity somewhere: the JSON column that holds
        it (JSON has neither), if any. Typed float columns are covered by ``check``."""
        for name in self._json:
            try:
                json.dumps(row[name], allow_nan=False)
            except ValueError:
                problem = "NaN or infinity, which a JSON column cannot hold"
                return Refusal(name, problem, f"{_short(row[name])}: {problem}")
        return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}...({len(text)} characters)"


def _bigint(value: Any) -> str | None:
    if BIGINT_MIN <= value <= BIGINT_MAX:
        return None
    return "out of the range of a BIGINT column (signed 64-bit, -2**63 to 2**63-1)"


def _nan_on_sqlite(value: float) -> str | None:
    return "NaN, which SQLite stores as NULL" if math.isnan(value) else None


def _nul(value: Any) -> str | None:
    if isinstance(value, str) and "\x00" in value:
        return "text with a NUL character, which PostgreSQL text cannot hold"
    return None


def _timestamp(value: dt.datetime) -> str | None:
    offset = value.utcoffset()
    try:
        utc = value.replace(tzinfo=None) - offset if offset else value.replace(tzinfo=None)
    except OverflowError:
        utc = None
    if utc is None or not _EARLIEST <= utc <= _LATEST:
        return "a timestamp within a day of year 1 or 9999, which cannot be read back"
    return None


def _timetz(value: dt.time) -> str | None:
    offset = value.utcoffset()
    if offset is not None and abs(offset) >= _TIMETZ_OFFSET:
        return "a time zone offset of 16 hours or more, beyond PostgreSQL's range"
    return None


def _numeric(value: decimal.Decimal) -> str | None:
    if not value.is_finite():
        # PostgreSQL numeric holds NaN and +-Infinity; a signalling NaN is not a number.
        return "a signalling NaN, which PostgreSQL numeric cannot hold" if value.is_snan() else None
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    scale = max(0, -exponent)
    integer_digits = max(0, len(digits) + exponent)
    if scale > _NUMERIC_SCALE or integer_digits > _NUMERIC_INTEGER_DIGITS:
        return "a decimal beyond PostgreSQL numeric (131072 digits before the point, 16383 after)"
    return None
