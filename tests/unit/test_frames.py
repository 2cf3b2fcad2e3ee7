"""run_many, arun_many and evaluate read tables: pandas and polars DataFrames, Hugging
Face datasets (built here from dicts, nothing fetched) and Arrow tables. A row without
text is that row's failed outcome; a table without the column is a clear error."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

import extract
from extract import Extractor, UsageError
from tests.batch_fakes import FaultyBackend, Item
from tests.eval_fakes import AnswerInText

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")  # a local Dataset never needs the hub


def pandas_frame(columns: dict[str, list[Any]]) -> Any:
    pandas = pytest.importorskip("pandas")
    return pandas.DataFrame(columns)


def polars_frame(columns: dict[str, list[Any]]) -> Any:
    polars = pytest.importorskip("polars")
    return polars.DataFrame(columns, strict=False)


def hf_dataset(columns: dict[str, list[Any]]) -> Any:
    datasets = pytest.importorskip("datasets")
    return datasets.Dataset.from_dict(columns)


def arrow_table(columns: dict[str, list[Any]]) -> Any:
    pyarrow = pytest.importorskip("pyarrow")
    return pyarrow.table(columns)


TABLES: dict[str, Callable[[dict[str, list[Any]]], Any]] = {
    "pandas": pandas_frame,
    "polars": polars_frame,
    "datasets": hf_dataset,
    "arrow": arrow_table,
}
tables = pytest.mark.parametrize("make", TABLES.values(), ids=list(TABLES))


def run(inputs: Any, **options: Any) -> list[extract.Outcome]:
    return list(Extractor(FaultyBackend()).run_many(Item, inputs, max_retries=0, **options))


@tables
def test_each_row_is_a_document_and_a_row_without_text_its_failed_outcome(make: Any) -> None:
    frame = make({"id": ["a", "b", "c", "d"],
                  "text": ["doc 1 ok", None, "doc 3 invalid", "doc 4 ok"]})  # fmt: skip
    outcomes = run(frame, concurrency=2)
    assert [o.id for o in outcomes] == ["a", "b", "c", "d"]
    assert [o.value for o in outcomes] == [Item(n=1), None, None, Item(n=4)]
    assert outcomes[1].error_type == "InputError"
    # pandas keeps strings in a column that turns None into nan
    assert outcomes[1].message in (
        'row 1 has no "text" string (it is missing: None)',
        'row 1 has no "text" string (it is missing: nan)',
    )
    assert outcomes[2].error_type == "ExtractionError"


@tables
def test_without_an_id_column_the_ids_are_row_positions(make: Any) -> None:
    outcomes = run(make({"text": ["doc 7 ok", "doc 8 ok"], "other": [1, 2]}))
    assert [(o.id, o.value) for o in outcomes] == [("0", Item(n=7)), ("1", Item(n=8))]


@tables
def test_a_table_without_a_text_column_is_refused_at_once(make: Any) -> None:
    with pytest.raises(UsageError, match=r"has no 'text' column \(its columns: 'id', 'body'\)"):
        Extractor(FaultyBackend()).run_many(Item, make({"id": ["a"], "body": ["doc 1 ok"]}))


@tables
def test_a_text_column_of_numbers_fails_each_row_with_the_reason(make: Any) -> None:
    outcomes = run(make({"text": [1, 2]}))
    assert [o.error_type for o in outcomes] == ["InputError", "InputError"]
    assert outcomes[0].message == 'row 0 has no "text" string (it holds a value of type int)'


@tables
def test_a_repeated_id_is_an_input_error_naming_both_rows(make: Any) -> None:
    outcomes = run(make({"id": ["a", "a"], "text": ["doc 1 ok", "doc 2 ok"]}))
    assert outcomes[0].value == Item(n=1)
    assert (outcomes[1].id, outcomes[1].error_type) == ("row 1", "InputError")
    assert outcomes[1].message == "row 1 repeats the id 'a' of row 0"


def test_pandas_missing_values_and_numeric_ids() -> None:
    pandas = pytest.importorskip("pandas")
    texts = pandas.Series(["doc 1 ok", float("nan"), pandas.NA], dtype=object)
    frame = pandas.DataFrame({"id": [10, 11, 12], "text": texts})
    outcomes = run(frame)
    assert [o.id for o in outcomes] == ["10", "11", "12"]
    assert outcomes[1].message == 'row 1 has no "text" string (it is missing: nan)'
    assert outcomes[2].message == 'row 2 has no "text" string (it is missing: <NA>)'


def test_arun_many_reads_a_table_too() -> None:
    polars = pytest.importorskip("polars")
    frame = polars.DataFrame({"id": ["x", "y"], "text": ["doc 5 ok", None]})

    async def collect() -> list[extract.Outcome]:
        stream = Extractor(FaultyBackend()).arun_many(Item, frame, max_retries=0)
        return [o async for o in stream]

    outcomes = asyncio.run(collect())
    assert [(o.id, o.value, o.error_type) for o in outcomes] == [
        ("x", Item(n=5), None),
        ("y", None, "InputError"),
    ]


def test_a_table_round_trips_through_to_arrow() -> None:
    """run_many over an Arrow table, to_arrow, and the table read as documents again."""
    pyarrow = pytest.importorskip("pyarrow")
    source = pyarrow.table({"id": ["a", "b"], "text": ["doc 1 ok", "doc 2 crash"]})
    table = extract.to_arrow(run(source), Item)
    assert table.column("id").to_pylist() == ["a", "b"]
    assert table.column("n").to_pylist() == [1, None]
    assert table.column("error").to_pylist()[1].startswith("RuntimeError: backend crashed")


class Person(BaseModel):
    name: str
    city: str | None = None
    age: int | None = None


GOLD = [
    {"name": "Ann Lee", "city": "Oslo", "age": 30},
    {"name": "Bo Ek", "city": "Rome", "age": None},
    {"name": "Cy Dahl", "city": None, "age": 41},
]
ANSWERS = [GOLD[0], {"name": "Bo Ek", "city": "Paris"}, None]  # right, wrong city, crash


def gold_columns() -> dict[str, list[Any]]:
    texts = [f"Document {i}. " + ("CRASH" if a is None else f"ANSWER: {json.dumps(a)}")
             for i, a in enumerate(ANSWERS)]  # fmt: skip
    return {"id": ["d0", "d1", "d2"], "text": texts, "gold": GOLD}


def scores(data: Any) -> dict[str, Any]:
    report = extract.evaluate(Person, data, Extractor(AnswerInText()), max_retries=0)
    figures: dict[str, Any] = report.to_json()["systems"]["fake:answer-in-text"]["fields"]
    return figures


@tables
def test_evaluate_scores_a_table_as_it_scores_the_same_records(make: Any) -> None:
    columns = gold_columns()
    records = list(zip(columns["id"], columns["text"], columns["gold"], strict=True))
    assert scores(make(columns)) == scores(records)
    dataset = extract.Dataset.from_frame(make(columns), Person)
    assert [d.id for d in dataset] == ["d0", "d1", "d2"]
    assert dataset.documents[2].gold == Person(**GOLD[2])


@tables
def test_evaluate_on_a_table_without_gold_names_its_columns(make: Any) -> None:
    columns = gold_columns()
    del columns["gold"]
    with pytest.raises(
        UsageError, match=r"gold data: .* no 'gold' column \(its columns: 'id', 'text'\)"
    ):
        extract.evaluate(Person, make(columns), Extractor(AnswerInText()))


@tables
def test_evaluate_on_a_table_with_a_row_without_text_names_the_row(make: Any) -> None:
    columns = gold_columns()
    columns["text"][1] = None
    with pytest.raises(UsageError, match=r'row 1: no "text" string'):
        extract.evaluate(Person, make(columns), Extractor(AnswerInText()))


def test_evaluate_leaves_out_rejected_rows_of_a_review_table() -> None:
    pandas = pytest.importorskip("pandas")
    columns = {**gold_columns(), "answer": ["accept", "reject", None]}
    dataset = extract.Dataset.from_frame(pandas.DataFrame(columns), Person)
    assert ([d.id for d in dataset], dataset.left_out) == (["d0", "d2"], 1)
    with pytest.raises(UsageError, match="from_frame takes a pandas or polars DataFrame"):
        extract.Dataset.from_frame([columns], Person)
