"""The review page under hostile or broken requests, and under ``kill -9``.

Through Starlette's test client: JSON nested past Python's recursion limit, a body or a
field count far beyond any form, an unknown answer holding markup, a POST from another
site, generated junk forms (never a 500, never an invalid line in the export). Through
real servers: ``extract review --host ::1`` answers over IPv6, and a server killed at
random points while answers arrive keeps every saved answer exactly once.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from starlette.testclient import TestClient

from extract.apps.review import Store, load_items
from extract.apps.review._app import MAX_BODY_BYTES, MAX_FIELDS, Review, create_app
from tests import fault_counts
from tests.form_submit import submitted
from tests.review_models import predictions

ROOT = Path(__file__).resolve().parents[2]


class Tagged(BaseModel):
    title: str
    score: float
    tags: dict[str, int]  # a JSON text box in the form


DOCS = [
    {"id": "a", "text": "Report, 0.5, x=1", "value": {"title": "Report", "score": 0.5, "tags": {}}},
    {"id": "b", "text": "Memo, 2", "value": {"title": "Memo", "score": 2, "tags": {"x": 1}}},
]


@pytest.fixture
def app(tmp_path: Path) -> Any:
    data = tmp_path / "pred.jsonl"
    data.write_text("".join(json.dumps(d) + "\n" for d in DOCS), encoding="utf-8")
    items = load_items(data)
    store = Store(tmp_path / "db.sqlite", tmp_path / "reviewed.jsonl")
    store.add(items)
    with TestClient(create_app(Review(Tagged, items, store), ["testserver"])) as client:
        client.out = tmp_path / "reviewed.jsonl"  # type: ignore[attr-defined]
        yield client
    store.close()


def form(client: Any, position: int = 0) -> list[tuple[str, str]]:
    html = client.get(f"/doc/{position}").text
    record = html[html.index('<form id="record"') :]
    return submitted(record[: record.index("</form>") + 7])


def post(client: Any, fields: list[tuple[str, str]], url: str = "/doc/0", **kw: Any) -> Any:
    headers = {"content-type": "application/x-www-form-urlencoded", **kw.pop("headers", {})}
    return client.post(url, content=urlencode(fields), headers=headers, follow_redirects=False)


def replaced(fields: list[tuple[str, str]], key: str, value: str) -> list[tuple[str, str]]:
    return [(k, value if k == key else v) for k, v in fields]


def exported(client: Any) -> list[dict[str, Any]]:
    if not client.out.exists():
        return []
    return [json.loads(line) for line in client.out.read_text(encoding="utf-8").splitlines()]


def field_key(fields: list[tuple[str, str]], suffix: str) -> str:
    return next(k for k, _ in fields if k.startswith("v") and k.endswith(suffix))


@pytest.mark.parametrize("depth", [65, 5_000, 200_000])
@pytest.mark.parametrize("field", ["tags", "score"])
def test_json_nested_past_any_record_is_an_inline_error_not_a_500(
    app: Any, depth: int, field: str
) -> None:
    fields = form(app)
    deep = "[" * depth + "]" * depth
    answer = post(app, [*replaced(fields, field_key(fields, field), deep), ("_action", "accept")])
    assert answer.status_code == 422, answer.text[:200]
    assert "nested deeper than 64 levels" in answer.text
    assert exported(app) == []
    assert post(app, [*fields, ("_action", "accept")]).status_code == 303  # the page still works


def test_json_nested_as_deep_as_allowed_is_read(app: Any) -> None:
    fields = form(app)
    nested = "[" * 64 + "]" * 64  # read, then refused by the model: a list is no dict
    answer = post(
        app, [*replaced(fields, field_key(fields, "tags"), nested), ("_action", "accept")]
    )
    assert answer.status_code == 422 and "nested deeper" not in answer.text


def test_a_body_or_a_field_count_beyond_any_form_is_refused_at_once(app: Any) -> None:
    fields = form(app)
    huge = [*fields, ("_action", "accept"), ("vjunk", "x" * (MAX_BODY_BYTES + 1))]
    started = time.monotonic()
    assert post(app, huge).status_code == 413
    many = [*fields, ("_action", "accept")] + [(f"v{i}", "1") for i in range(300_000)]
    answer = post(app, many)
    took = time.monotonic() - started
    assert answer.status_code == 413 and str(MAX_FIELDS) in answer.text
    assert took < 5.0, took  # 300,000 fields held the server for 18.6 s
    assert exported(app) == []


def test_a_body_sent_in_chunks_without_a_length_is_counted_as_read(app: Any) -> None:
    fields = urlencode([*form(app), ("_action", "accept")]).encode()

    def chunks() -> Any:
        yield fields
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"&v=" + b"x" * 65536

    headers = {"content-type": "application/x-www-form-urlencoded"}
    assert app.post("/doc/0", content=chunks(), headers=headers).status_code == 413


def test_an_unknown_answer_is_plain_text_with_the_page_headers(app: Any) -> None:
    action = "<script>alert(1)</script>"
    answer = post(app, [*form(app), ("_action", action)])
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/plain")
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert exported(app) == []


@pytest.mark.parametrize(
    ("origin", "code"),
    [
        ("http://evil.example", 403),
        ("null", 403),
        ("http://testserver:8000", 403),
        ("https://testserver", 403),
        ("http://testserver", 303),
        (None, 303),  # not a browser, or an old one: the token still decides
    ],
)
def test_a_post_from_another_origin_is_refused(app: Any, origin: str | None, code: int) -> None:
    headers = {} if origin is None else {"origin": origin}
    answer = post(app, [*form(app), ("_action", "skip")], headers=headers)
    assert answer.status_code == code
    assert len(exported(app)) == (1 if code == 303 else 0)


@pytest.mark.parametrize("host", ["evil.example", "[::1", "testserver:x", ""])
def test_an_unknown_or_broken_host_is_refused(app: Any, host: str) -> None:
    assert app.get("/doc/0", headers={"host": host}).status_code == 400


JUNK_KEYS = st.sampled_from(
    ["_action", "_version", "_token", "_example", "__null__", "__list__", "v", "v/title",
     "v/score", "v/tags", "v/x/0", "v/0", "x", ""]
)  # fmt: skip
JUNK_VALUES = st.one_of(
    st.sampled_from(["accept", "reject", "skip", "correct", "1", "-1", "[", "{}", "null",
                     "[" * 70, "1e999", "NaN", "\x00", "/title", "/tags"]),
    st.text(max_size=30),
)  # fmt: skip


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    junk=st.lists(st.tuples(JUNK_KEYS, JUNK_VALUES), max_size=12),
    keep_page_fields=st.booleans(),
)
def test_junk_forms_never_break_the_page_or_the_export(
    app: Any, junk: list[tuple[str, str]], keep_page_fields: bool
) -> None:
    fields = form(app) if keep_page_fields else []
    answer = post(app, [*fields, *junk])
    assert answer.status_code in (303, 400, 403, 409, 413, 422), answer.text[:300]
    for line in exported(app):  # whatever was saved is a valid record or no record
        assert line["answer"] in ("accept", "correct", "reject", "skip")
        if line["gold"] is not None:
            Tagged.model_validate(line["gold"])
    assert app.get("/doc/0").status_code == 200
    fault_counts.record("review-junk", inputs=1, faults=len(junk), accounted=1)


# -- real servers ------------------------------------------------------------------


def start(folder: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "extract", "review", "--schema",
               "tests.review_models:Order", "--data", str(folder / "predictions.jsonl"),
               "--out", str(folder / "reviewed.jsonl"), "--port", "0", *extra]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()  # printed once the server listens
    assert " at http://" in line, line
    return process, line.split(" at ", 1)[1].split(" ", 1)[0]


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
    process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


def write_predictions(folder: Path, n: int) -> list[str]:
    rows = predictions(n)
    rows[1]["value"]["lines"][0]["qty"] = 2  # type: ignore[index]  # accepted as it is
    text = "".join(json.dumps(r) + "\n" for r in rows)
    (folder / "predictions.jsonl").write_text(text, encoding="utf-8")
    return [str(r["id"]) for r in rows]


def test_review_on_ipv6_loopback_serves_the_page(tmp_path: Path) -> None:
    write_predictions(tmp_path, 3)
    process, url = start(tmp_path, "--host", "::1")
    try:
        assert url.startswith("http://[::1]:")
        with httpx.Client() as client:  # before, every request: 400 "Invalid host header"
            page = client.get(url, follow_redirects=True)
            assert page.status_code == 200 and "order-01" in page.text
            assert client.get(url, headers={"host": "evil.example"}).status_code == 400
    finally:
        stop(process)


def answer_one(client: httpx.Client, url: str) -> str | None:
    """Accepts the document the page opens on; its id, or None when all are done."""
    page = client.get(url, follow_redirects=True)
    if str(page.url).endswith("/done"):
        return None
    html = page.text
    record = html[html.index('<form id="record"') :]
    fields = submitted(record[: record.index("</form>") + 7])
    doc_id = html.split("<title>", 1)[1].split(" (", 1)[0]
    body = urlencode([*fields, ("_action", "accept")])  # repeated names kept, in order
    headers = {"content-type": "application/x-www-form-urlencoded"}
    sent = client.post(str(page.url), content=body, headers=headers)
    assert sent.status_code in (200, 303), sent.text[:200]
    return doc_id


def test_killed_at_random_points_every_answer_is_kept_exactly_once(tmp_path: Path) -> None:
    rng = random.Random(20261207)  # random kill points, the same every run
    ids = write_predictions(tmp_path, 30)
    out = tmp_path / "reviewed.jsonl"
    saved: list[str] = []  # answers the server confirmed before it was killed
    kills = 0
    while True:
        process, url = start(tmp_path)
        kill_after = rng.randint(1, 6)
        try:
            with httpx.Client(timeout=10) as client:
                for _ in range(kill_after):
                    doc_id = answer_one(client, url)
                    if doc_id is None:
                        break
                    saved.append(doc_id)
                else:  # mid-answer: the next POST is in flight when the kill lands
                    if rng.random() < 0.5:
                        process.send_signal(signal.SIGKILL)
                        kills += 1
                        process.wait(timeout=10)
                        continue
                    with contextlib.suppress(httpx.HTTPError):  # it may be cut off
                        answer_one(client, url)
                    process.send_signal(signal.SIGKILL)
                    kills += 1
                    process.wait(timeout=10)
                    continue
                break  # all answered
        finally:
            stop(process)
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ids  # every document once, in order
    assert set(saved) <= set(ids)
    assert all(line["answer"] == "accept" for line in lines)  # each prediction unchanged
    assert kills >= 3
    fault_counts.record("review-kill", inputs=len(ids), faults=kills, accounted=len(lines))
