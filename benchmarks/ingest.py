"""Ingestion speed: our validation vs raw Pydantic and jsonschema, then full loads.

100k generated order records as JSON lines, 5% damaged (bad JSON, a wrong type, a
missing field). In one run, on the same lines:

1. validation alone, rounds interleaved (ours, Pydantic, jsonschema, ours, ...), in
   batches of 1000 whose results are kept until the batch ends, as a loader keeps them:
   - ours: what ``extract.ingest`` does per line (validate, repair on bad JSON, classify);
   - Pydantic: ``TypeAdapter.validate_json`` in a try/except, each batch's results kept
     (plain, and with the collector paused per batch as ours does), and each result
     dropped at once (a floor no batching loader reaches: the memory is reused hot);
   - jsonschema: ``json.loads`` + a Draft 2020-12 validator with format checking;
2. full ingest (read file, validate, upsert, quarantine) into SQLite and PostgreSQL
   (a throwaway server on 127.0.0.1, when the binaries are installed).

    python -m benchmarks.ingest [--records 100000] [--rounds 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pydantic
from pydantic import BaseModel, Field

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.pg_server

import extract
from extract.apps.ingest._load import _Invalid, collector_paused, validate_batch
from extract.apps.ingest._sources import SourceRecord


class Item(BaseModel):
    sku: str = Field(max_length=12)
    quantity: int = Field(ge=1, le=1000)
    unit_price: float = Field(ge=0)


class Order(BaseModel):
    id: int = Field(json_schema_extra={"primary_key": True})
    customer: str = Field(max_length=60)
    status: Literal["new", "paid", "shipped", "cancelled"]
    placed: datetime
    total: float = Field(ge=0)
    items: list[Item] = Field(min_length=1, max_length=5)
    note: str | None = None


def generate(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    lines = []
    for i in range(n):
        items = [
            {"sku": f"SKU-{rng.randrange(10**6)}", "quantity": rng.randint(1, 9),
             "unit_price": round(rng.uniform(1, 200), 2)}
            for _ in range(rng.randint(1, 4))
        ]  # fmt: skip
        record: dict[str, Any] = {
            "id": i,
            "customer": f"Customer {rng.randrange(10**5)}",
            "status": rng.choice(["new", "paid", "shipped", "cancelled"]),
            "placed": (start + timedelta(minutes=rng.randrange(10**6))).isoformat(),
            "total": round(sum(it["quantity"] * it["unit_price"] for it in items), 2),
            "items": items,
            "note": rng.choice([None, "gift", "call before delivery"]),
        }
        line = json.dumps(record)
        if rng.random() < 0.05:  # damaged
            kind = rng.randrange(3)
            if kind == 0:
                line = line[: rng.randrange(1, len(line))]  # cut off
            elif kind == 1:
                line = json.dumps({**record, "total": "a lot"})
            else:
                line = json.dumps({k: v for k, v in record.items() if k != "status"})
        lines.append(line)
    return lines


BATCH = 1000  # extract.ingest's default batch size


def ours(lines: list[str]) -> int:
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Order)
    ok = 0
    for start in range(0, len(lines), BATCH):  # the batches extract.ingest validates
        chunk = lines[start : start + BATCH]
        batch = [SourceRecord("bench", start + i, line) for i, line in enumerate(chunk, 1)]
        with collector_paused():  # as extract.ingest does around each batch
            outcomes = validate_batch(adapter, batch, True)
            ok += sum(not isinstance(o, _Invalid) for o in outcomes)
            del outcomes, batch
    return ok


def pydantic_only(lines: list[str]) -> int:
    """Raw Pydantic, keeping each batch's results as a loader must until it writes them."""
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Order)
    ok = 0
    for start in range(0, len(lines), BATCH):
        kept = []
        for line in lines[start : start + BATCH]:
            try:  # noqa: SIM105 - contextlib.suppress costs more per call: unfair here
                kept.append(adapter.validate_json(line))
            except pydantic.ValidationError:
                pass
        ok += len(kept)
    return ok


def pydantic_kept_collector_paused(lines: list[str]) -> int:
    """Raw Pydantic keeping each batch, with the collector paused as ours: like for like."""
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Order)
    ok = 0
    for start in range(0, len(lines), BATCH):
        with collector_paused():
            kept = []
            for line in lines[start : start + BATCH]:
                try:  # noqa: SIM105
                    kept.append(adapter.validate_json(line))
                except pydantic.ValidationError:
                    pass
            ok += len(kept)
            del kept
    return ok


def pydantic_discarding(lines: list[str]) -> int:
    """Raw Pydantic, each result dropped at once: the floor, no loader can keep nothing."""
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Order)
    ok = 0
    for line in lines:
        try:
            adapter.validate_json(line)
            ok += 1
        except pydantic.ValidationError:
            pass
    return ok


def jsonschema_only(lines: list[str]) -> int:
    schema = Order.model_json_schema()
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    ok = 0
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        ok += validator.is_valid(value)
    return ok


def timed(fn: Callable[[list[str]], int], lines: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    ok = fn(lines)
    return time.perf_counter() - started, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", dest="json_out", type=Path)
    args = parser.parse_args()

    lines = generate(args.records)
    systems: dict[str, Callable[[list[str]], int]] = {
        "ours (extract.ingest validation)": ours,
        "pydantic TypeAdapter.validate_json, batch kept": pydantic_only,
        "pydantic TypeAdapter.validate_json, batch kept, collector paused": (
            pydantic_kept_collector_paused
        ),
        "pydantic TypeAdapter.validate_json, each dropped": pydantic_discarding,
        "jsonschema Draft202012Validator": jsonschema_only,
    }
    seconds: dict[str, list[float]] = {name: [] for name in systems}
    valid: dict[str, int] = {}
    for _ in range(args.rounds):  # interleaved, so drift hits every system alike
        for name, fn in systems.items():
            spent, ok = timed(fn, lines)
            seconds[name].append(spent)
            valid[name] = ok
    results: dict[str, Any] = {"records": len(lines), "validation": {}, "ingest": {}}
    print(f"{len(lines)} records, 5% damaged; validation, median of {args.rounds} rounds\n")
    print("| system | records/s | valid | ours / this (time) |")
    print("|---|---|---|---|")
    base = statistics.median(seconds["ours (extract.ingest validation)"])
    for name in systems:
        median = statistics.median(seconds[name])
        results["validation"][name] = {"records_per_s": len(lines) / median, "valid": valid[name]}
        print(f"| {name} | {len(lines) / median:,.0f} | {valid[name]} | {base / median:.2f}x |")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        targets: list[tuple[str, Any]] = [("SQLite (file, WAL)", f"sqlite:///{tmp}/bench.db")]
        print("\n| full ingest into | records/s | loaded | quarantined |")
        print("|---|---|---|---|")
        report = extract.ingest(Order, path, into=targets[0][1], table="orders")
        _print_ingest(targets[0][0], report, results)
        try:
            from tests.pg_server import NoPostgreSQL, running_postgresql

            with running_postgresql() as url:
                report = extract.ingest(Order, path, into=url, table="orders")
                _print_ingest("PostgreSQL (local server)", report, results)
        except NoPostgreSQL as exc:
            print(f"| PostgreSQL | not run: {exc} | | |")
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


def _print_ingest(name: str, report: Any, results: dict[str, Any]) -> None:
    rate = report.read / report.seconds
    results["ingest"][name] = {
        "records_per_s": rate,
        "loaded": report.loaded,
        "quarantined": report.quarantined,
    }
    print(f"| {name} | {rate:,.0f} | {report.loaded} | {report.quarantined} |")


if __name__ == "__main__":
    sys.exit(main())
