"""The review app over HTTP (Starlette's test client): answers, errors, safety."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal, Optional
from urllib.parse import urlencode

import pytest
from pydantic import BaseModel, Field
from starlette.testclient import TestClient

import extract
from extract import Dataset, UsageError
from extract.apps.review import Store, load_examples, load_items
from extract.apps.review._app import Review, create_app
from tests.form_submit import submitted


class Item(BaseModel):
    name: str
    qty: int


class Order(BaseModel):
    customer: str
    when: dt.date
    status: Literal["open", "paid"]
    items: list[Item]
    note: Optional[str] = None


PREDICTIONS = [
    {
        "id": "o1",
        "text": "Ada ordered 2 lamps on 2026-01-02, paid.",
        "value": {
            "customer": "Ada",
            "when": "2026-01-02",
            "status": "paid",
            "items": [{"name": "lamp", "qty": 2}],
        },
        "spans": {"/customer": [0, 3], "/items/0/name": [14, 19]},
        "confidence": {"/status": 0.5},
    },
    {
        "id": "o2",
        "text": "<script>document.title='owned'</script> Bo, 3 cups",
        "value": {
            "customer": "Bo",
            "when": "2026-02-03",
            "status": "open",
            "items": [{"name": "cup", "qty": "three"}],
        },
    },
    {"id": "o3", "text": "nothing here", "error": "ExtractionError: no record"},
]


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def app(tmp_path: Path) -> Any:
    items = load_items(write(tmp_path / "pred.jsonl", PREDICTIONS))
    store = Store(tmp_path / "db.sqlite", tmp_path / "reviewed.jsonl")
    store.add(items)
    review = Review(Order, items, store)
    with TestClient(create_app(review, allowed_hosts=["testserver"])) as client:
        client.out = tmp_path / "reviewed.jsonl"  # type: ignore[attr-defined]
        yield client
    store.close()


def form_of(html: str) -> list[tuple[str, str]]:
    record = html[html.index('<form id="record"') :]
    return submitted(record[: record.index("</form>") + 7])


def post(client: Any, url: str, fields: Any, **options: Any) -> Any:
    """A form submission as a browser sends it (URL-encoded, fields in order)."""
    body = urlencode(list(fields.items()) if isinstance(fields, dict) else fields)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return client.post(url, content=body, headers=headers, **options)


def reviewed(client: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in client.out.read_text(encoding="utf-8").splitlines()]


def test_accept_unchanged_then_correct_then_reject(app: Any) -> None:
    page = app.get("/")
    assert page.status_code == 200 and "o1" in page.text
    assert "Check first" in page.text and "/status (50%)" in page.text
    assert "<mark class='f0' data-path='/customer'" in page.text
    fields = form_of(page.text)
    done = post(app, "/doc/0", [*fields, ("_action", "accept")], follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/doc/1")
    assert reviewed(app)[0]["answer"] == "accept"

    page = app.get("/doc/1")
    assert "does not validate" in page.text and "(got &quot;three&quot;)" in page.text
    fields = [(k, "3" if k == "v/items/0/qty" else v) for k, v in form_of(page.text)]
    done = post(
        app, "/doc/1", [*fields, ("_action", "accept"), ("_example", "1")], follow_redirects=False
    )
    assert done.status_code == 303
    line = reviewed(app)[1]
    assert line["answer"] == "correct" and line["example"] is True
    assert line["gold"]["items"] == [{"name": "cup", "qty": 3}]

    page = app.get("/doc/2")
    assert "The extraction failed: ExtractionError: no record" in page.text
    done = post(app, "/doc/2", [*form_of(page.text), ("_action", "reject")], follow_redirects=False)
    assert done.headers["location"] == "/done"
    assert "1 accept, 1 correct, 1 reject" in app.get("/done").text
    assert [r["id"] for r in reviewed(app)] == ["o1", "o2", "o3"]


def test_invalid_corrections_are_not_saved_and_show_inline(app: Any) -> None:
    page = app.get("/doc/0")
    fields = [(k, "soon" if k == "v/when" else v) for k, v in form_of(page.text)]
    done = post(app, "/doc/0", [*fields, ("_action", "accept")])
    assert done.status_code == 422
    assert "Not saved" in done.text and "Input should be a valid date" in done.text
    assert "value='soon'" in done.text  # what was typed is still there
    assert not app.out.exists() or reviewed(app) == []


def test_two_tabs_cannot_overwrite_each_other_silently(app: Any) -> None:
    first, second = form_of(app.get("/doc/0").text), form_of(app.get("/doc/0").text)
    assert (
        post(app, "/doc/0", [*first, ("_action", "skip")], follow_redirects=False).status_code
        == 303
    )
    clash = post(app, "/doc/0", [*second, ("_action", "reject")])
    assert clash.status_code == 409 and "another tab" in clash.text
    assert reviewed(app)[0]["answer"] == "skip"
    again = post(
        app, "/doc/0", [*form_of(clash.text), ("_action", "reject")], follow_redirects=False
    )
    assert again.status_code == 303 and reviewed(app)[0]["answer"] == "reject"


def test_undo_restores_the_answer_before(app: Any) -> None:
    page = app.get("/doc/0")
    token = dict(form_of(page.text))["_token"]
    post(app, "/doc/0", [*form_of(page.text), ("_action", "skip")])
    assert reviewed(app)[0]["answer"] == "skip"
    back = post(app, "/undo", {"_token": token}, follow_redirects=False)
    assert back.headers["location"].startswith("/doc/0")
    assert reviewed(app) == []
    assert "Nothing" in post(app, "/undo", {"_token": token}).text


def test_writes_need_the_page_token_and_a_loopback_host(app: Any) -> None:
    fields = [(k, v) for k, v in form_of(app.get("/doc/0").text) if k != "_token"]
    assert (
        post(app, "/doc/0", [*fields, ("_action", "skip"), ("_token", "guess")]).status_code == 403
    )
    assert post(app, "/undo", {}).status_code == 403
    assert app.get("/doc/0", headers={"host": "evil.example"}).status_code == 400
    assert not app.out.exists() or reviewed(app) == []


def test_a_document_holding_a_script_is_text(app: Any) -> None:
    page = app.get("/doc/1")
    assert "<script>document.title" not in page.text
    assert "&lt;script&gt;document.title" in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'nonce-" in policy and "default-src 'none'" in policy
    [nonce] = re.findall(r"<script nonce=\"([^\"]+)\">", page.text)
    assert f"'nonce-{nonce}'" in policy


def test_bad_lines_are_all_named_before_anything_starts(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(
        b'{"id": "a", "text": "x", "value": {}}\n'
        b'{"id": "b", "text": "caf\xe9", "value": {}}\n'
        b"not json\n"
        b'{"id": "a", "text": "again", "value": {}}\n'
        b'{"id": "c", "value": {}}\n'
        b'{"id": "d", "text": "ab", "value": {}, "spans": {"/x": [1, 9]}}\n'
    )
    with pytest.raises(UsageError) as raised:
        load_items(path)
    message = str(raised.value)
    assert message.startswith("5 lines cannot be reviewed")
    for expected in (
        "bad.jsonl:2: not UTF-8 (byte 0xe9 at column 25)",
        "bad.jsonl:3: not JSON",
        "bad.jsonl:4: the id 'a' appears twice",
        'bad.jsonl:5: no "text"',
        'bad.jsonl:6: "spans"',
    ):
        assert expected in message


def test_texts_come_from_the_run_inputs(tmp_path: Path) -> None:
    inputs = write(tmp_path / "docs.jsonl", [{"id": "o1", "text": "Ada, 2 lamps"}])
    pred = write(tmp_path / "run.jsonl", [{"id": "o1", "value": {"customer": "Ada"}}])
    [item] = load_items(pred, [str(inputs)])
    assert item.text == "Ada, 2 lamps"


def test_the_output_feeds_the_dataset_and_the_examples(app: Any) -> None:
    test_accept_unchanged_then_correct_then_reject(app)
    data = Dataset.from_jsonl(app.out, Order)
    assert len(data) == 2 and data.left_out == 1
    [(text, example)] = load_examples(app.out, Order)
    assert text.startswith("<script>") and example.items == [Item(name="cup", qty=3)]
    assert extract.load_examples is load_examples


def test_a_restart_resumes_and_a_lost_database_is_rebuilt_from_the_export(tmp_path: Path) -> None:
    items = load_items(write(tmp_path / "pred.jsonl", PREDICTIONS))
    out = tmp_path / "reviewed.jsonl"
    store = Store(tmp_path / "db.sqlite", out)
    store.add(items)
    store.answer("o2", 0, "correct", {"customer": "Bo"}, example=True)
    token = store.token
    store.close()
    store = Store(tmp_path / "db.sqlite", out)
    store.add(items)
    assert store.token == token and store.state("o2").answer == "correct"
    assert store.open_positions() == [0, 2]
    store.close()
    (tmp_path / "db.sqlite").unlink()
    store = Store(tmp_path / "other.sqlite", out)
    store.add(items)
    assert store.resume_from_export() == 1
    assert store.state("o2").gold == {"customer": "Bo"} and store.state("o2").example
    store.close()


class Aliased(BaseModel):
    full_name: str = Field(alias="fullName")


def test_run_output_by_field_name_is_read_and_saved_by_alias(tmp_path: Path) -> None:
    # `extract run` writes values by field name; gold is written by alias, as the schema.
    rows = [{"id": "a", "text": "Ada Lovelace", "value": {"full_name": "Ada Lovelace"}}]
    items = load_items(write(tmp_path / "pred.jsonl", rows))
    store = Store(tmp_path / "db.sqlite", tmp_path / "out.jsonl")
    store.add(items)
    with TestClient(create_app(Review(Aliased, items, store), ["testserver"])) as client:
        page = client.get("/doc/0")
        assert "value='Ada Lovelace'" in page.text and "does not validate" not in page.text
        post(client, "/doc/0", [*form_of(page.text), ("_action", "accept")])
    store.close()
    [line] = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert line["answer"] == "accept" and line["gold"] == {"fullName": "Ada Lovelace"}


def test_the_command_refuses_bad_input_naming_each_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"id": "a", "text": "ok", "value": {}}\n\xff\xfe\n')
    done = subprocess.run(
        [sys.executable, "-m", "extract", "review", "--schema", "tests.review_models:Order",
         "--data", str(bad), "--out", str(tmp_path / "out.jsonl"), "--port", "0"],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "1 line cannot be reviewed" in done.stderr and "bad.jsonl:2: not UTF-8" in done.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_documents_can_be_offered_least_sure_first(tmp_path: Path) -> None:
    rows = [dict(PREDICTIONS[0], id=ident, confidence=sure)
            for ident, sure in [("a", {"/status": 0.9}), ("b", {"/status": 0.2}),
                                ("c", {}), ("d", {"/customer": 0.5, "/status": 0.95})]]  # fmt: skip
    items = load_items(write(tmp_path / "pred.jsonl", rows))
    store = Store(tmp_path / "db.sqlite", tmp_path / "reviewed.jsonl")
    store.add(items)
    review = Review(Order, items, store, order="uncertain")
    assert [items[p].id for p in review.order] == ["b", "d", "a", "c"]
    with TestClient(create_app(review, allowed_hosts=["testserver"])) as client:
        seen = []
        page = client.get("/")
        for _ in range(4):
            seen.append(re.findall(r"<title>(\w+) \(", page.text)[0])
            page = post(client, str(page.url).split("testserver")[1],
                        [*form_of(page.text), ("_action", "skip")])  # fmt: skip
        assert seen == ["b", "d", "a", "c"] and str(page.url).endswith("/done")
    with pytest.raises(UsageError, match="order"):
        Review(Order, items, store, order="random")
    store.close()


def test_a_pdf_input_shows_its_page_with_the_values_boxes(tmp_path: Path) -> None:
    pytest.importorskip("pypdfium2")
    fpdf = pytest.importorskip("fpdf")

    class Receipt(BaseModel):
        shop: str

    pdf = fpdf.FPDF(unit="pt", format=(300, 200))
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.text(20, 40, "Receipt from Corner Shop")
    source = tmp_path / "receipt.pdf"
    source.write_bytes(bytes(pdf.output()))
    text = extract.load(source).text
    start = text.index("Corner Shop")
    row = {"id": str(source), "text": text, "value": {"shop": "Corner Shop"},
           "spans": {"/shop": [start, start + 11]}}  # fmt: skip
    items = load_items(write(tmp_path / "pred.jsonl", [row, {**row, "id": "elsewhere"}]))
    store = Store(tmp_path / "db.sqlite", tmp_path / "reviewed.jsonl")
    store.add(items)
    with TestClient(
        create_app(Review(Receipt, items, store), allowed_hosts=["testserver"])
    ) as client:
        page = client.get("/")
        assert "<img alt='page 1' src='data:image/png;base64," in page.text
        assert "<div class='box f0' data-path='/shop'" in page.text
        assert "img-src data:" in page.headers["content-security-policy"]
        other = client.get("/doc/1")  # an id that names no file: the text alone
        assert other.status_code == 200 and "<img" not in other.text
    store.close()
